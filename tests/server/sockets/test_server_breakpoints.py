"""The one breakpoint rule (server.sockets.breakpoints) against its cases as data, tests/fixtures/breakpoints.json,
which the page's local replay is tested against too; and the live stream stops exactly where the rule says."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from unrolled.server.sockets.breakpoints import BreakpointRule, stops
from server_helpers import receive_until

CASES = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "breakpoints.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_the_rule_stops_where_the_fixture_says(case):
    assert stops(case["break"], case["events"]) == case["stops_at"]


def test_the_fixture_covers_the_rule():
    assert len(CASES) >= 8
    events = [e for case in CASES for e in case["events"]]
    norms = {e["norm"] for e in events if isinstance(e["norm"], str)}
    assert norms == {"NaN", "Infinity", "-Infinity"}
    assert {e["phase"] for e in events} == {"forward", "backward"}
    assert {"h_l0", "h_l1", "h_l0_reverse", "logits", "loss"} <= {e["node"] for e in events}
    assert {k for case in CASES for k in case["break"]} == {"nonfinite", "grad_below", "grad_above"}
    for case in CASES:
        assert [e["seq"] for e in case["events"]] == list(range(len(case["events"])))
        assert set(case["stops_at"]) <= {e["seq"] for e in case["events"]}


def test_the_paused_reason_is_the_first_breakpoint_in_rule_order():
    rule = BreakpointRule({"grad_above": 1.0, "nonfinite": None})
    assert rule.check("backward", "h_l0", 3, math.inf)[0] == "nonfinite"
    assert rule.check("backward", "h_l0", 2, 5.0) is None                  # grad_above stopped at h_l0 too
    reason, detail = rule.check("backward", "h_l1", 3, 5.0)
    assert reason == "grad_above" and "h_l1 t=3" in detail


def test_a_breakpoint_set_mid_run_applies_from_the_next_event():
    breakpoints: dict[str, float | None] = {}
    rule = BreakpointRule(breakpoints)
    assert rule.check("backward", "h_l0", 5, 1e-6) is None
    breakpoints["grad_below"] = 1e-3
    assert rule.check("backward", "h_l0", 4, 1e-6)[0] == "grad_below"


def test_the_live_stream_stops_exactly_where_the_rule_says(client):
    config = {"preset": "vanishing-tanh", "seq_len": 10, "num_layers": 2, "bidirectional": True, "hidden_size": 6}
    breakpoints = {"grad_below": 0.02, "grad_above": 0.5}
    events, paused = [], []
    with client.websocket_connect("/ws/trace") as ws:
        for on, value in breakpoints.items():
            ws.send_json({"type": "break", "on": on, "value": value})
        ws.send_json({"type": "start", "config": config, "mode": "play"})
        while True:
            messages = receive_until(ws, {"paused", "done", "error"})
            events += [m for m in messages if m["type"] == "event"]
            last = messages[-1]
            if last["type"] != "paused":
                assert last["type"] == "done", last
                break
            assert last["seq"] == events[-1]["seq"]
            paused.append(last["seq"])
            ws.send_json({"type": "play"})
    expected = stops(breakpoints, events)
    assert len(expected) >= 3 and paused == expected
