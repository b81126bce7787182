"""The stream follows the schedule its meta message publishes (docs/DESIGN.md, "Event schedule"): as many
events as schedule["total"], and inside each block events of its phase and kind, on its segment's steps."""

from __future__ import annotations

import pytest

from server_helpers import receive_until

RUNS = {
    "plain": {"preset": "vanishing-tanh", "seq_len": 7},
    "bidirectional 2-layer": {"cell": "gru", "task": "tagging", "seq_len": 6, "num_layers": 2, "bidirectional": True,
                              "hidden_size": 5},
    "seq2seq": {"preset": "seq2seq"},
}
KIND_NODES = {"outputs": {"logits", "loss"}}


def streamed(client, config: dict) -> tuple[dict, list[dict]]:
    """(meta, events) of a whole stream played at full speed."""
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": config, "mode": "play"})
        messages = receive_until(ws, {"done", "error"})
    assert messages[-1]["type"] == "done", messages[-1]
    assert messages[0]["type"] == "meta"
    return messages[0], [m for m in messages if m["type"] == "event"]


def is_h_node(node: str, meta: dict) -> bool:
    """An h-node of the run: h_l<k>, h_l<k>_reverse (one of meta's nodes)."""
    return node.startswith("h_l") and node in meta["nodes"]


@pytest.mark.parametrize("name", RUNS)
def test_the_events_streamed_are_the_schedule(client, name):
    meta, events = streamed(client, RUNS[name])
    schedule = meta["schedule"]
    assert len(events) == schedule["total"] == meta["total_events"]
    assert [e["seq"] for e in events] == list(range(schedule["total"]))
    segments = {s["name"]: s for s in schedule["segments"]}
    blocks = schedule["blocks"]
    assert blocks[0]["start"] == 0 and blocks[-1]["stop"] == schedule["total"]
    assert all(a["stop"] == b["start"] for a, b in zip(blocks, blocks[1:]))
    assert schedule["forward_events"] == sum(b["stop"] - b["start"] for b in blocks if b["phase"] == "forward")
    for block in blocks:
        segment = segments[block["segment"]]
        for event in events[block["start"]:block["stop"]]:
            where = (block, event["seq"], event["node"], event["t"])
            assert event["phase"] == block["phase"], where
            if block["kind"] == "hidden":
                assert is_h_node(event["node"], meta), where
            else:
                assert event["node"] in KIND_NODES["outputs"], where
            assert segment["start"] <= event["t"] < segment["stop"], where


def test_the_seq2seq_schedule_has_a_silent_encoder_and_fewer_forward_events_than_a_plain_count(client):
    """The encoder–decoder's forward phase: every h step of both halves, outputs of the decoder only
    (the page used to count 2·T output events and jumped late)."""
    meta, events = streamed(client, RUNS["seq2seq"])
    schedule, T = meta["schedule"], meta["T"]
    encoder, decoder = schedule["segments"]
    assert not encoder["emits"] and decoder["emits"] and encoder["stop"] == decoder["start"]
    forward = [e for e in events if e["phase"] == "forward"]
    assert len(forward) == schedule["forward_events"] == T + 2 * (decoder["stop"] - decoder["start"])
    assert {e["t"] for e in forward if e["node"] in ("logits", "loss")} == set(range(decoder["start"], decoder["stop"]))
    assert events[schedule["forward_events"]]["phase"] == "backward"
