"""Usage patterns (issue 6) through config, REST and the socket: generation (free running),
Elman's context units (no gradient through W) and the many-to-one classifier."""

from __future__ import annotations

import numpy as np
import pytest

from unrolled import engine
from unrolled.server.config import resolve_config
from unrolled.server.model_source import build_model
from unrolled.server.runs import build_task, compute_trace
from unrolled.server.training import TrainedCache, trained_network
from server_helpers import receive_until

GENERATION_SMALL = {"preset": "generation", "seq_len": 8, "hidden_size": 8}


@pytest.mark.parametrize("body, field", [
    ({"recurrent_gradient": 0}, "recurrent_gradient"),
    ({"recurrent_gradient": "false"}, "recurrent_gradient"),
    ({"unroll": "sampled"}, "unroll"),
    ({"unroll": "free_running", "task": "copy"}, "unroll"),
    ({"unroll": "free_running", "task": "tagging"}, "unroll"),
    ({"unroll": "free_running", "task": "char_lm", "bidirectional": True}, "unroll"),
    ({"preset": "generation", "bidirectional": True}, "unroll"),
], ids=["rg-int", "rg-string", "unroll-unknown", "unroll-copy", "unroll-tagging", "unroll-bidirectional",
        "generation-bidirectional"])
def test_pattern_fields_are_a_422_naming_the_field(client, body, field):
    r = client.post("/api/trace", json=body)
    assert r.status_code == 422, r.text
    assert ["body", field] in [e["loc"] for e in r.json()["detail"]]


def test_pattern_fields_round_trip_and_default_to_plain_bptt():
    plain = resolve_config({})
    assert (plain.recurrent_gradient, plain.unroll) == (True, "teacher_forced")
    for name in ("generation", "elman-context"):
        config = resolve_config({"preset": name})
        assert resolve_config(config.model_dump()) == config
    assert resolve_config({"preset": "generation"}).unroll == "free_running"
    assert resolve_config({"preset": "elman-context"}).recurrent_gradient is False


def test_free_running_inputs_are_engine_free_run_and_the_targets_are_the_text():
    config = resolve_config(GENERATION_SMALL)
    trace, task = compute_trace(config)
    teacher = build_task(config)
    x, tokens = engine.free_run(build_model(config, teacher).model, teacher.x[0], config.seq_len)
    np.testing.assert_array_equal(trace.x, x)
    np.testing.assert_array_equal(trace.targets, teacher.targets)       # still the text's next characters
    assert not np.array_equal(trace.x, teacher.x)                        # it really fed something else back
    # x(t+1) is the one-hot of argmax o(t), and the labels name the fed-back symbols
    logits = trace.activations["logits"]
    for t in range(config.seq_len - 1):
        np.testing.assert_array_equal(trace.x[t + 1], np.eye(task.input_size)[np.argmax(logits[t], axis=-1)])
    for b in range(config.batch_size):
        assert task.input_labels[b][0] == teacher.input_labels[b][0]
        assert task.input_labels[b][1:] == [task.output_labels[i] for i in tokens[:-1, b]]


def test_generation_preset_story_numbers():
    config = resolve_config({"preset": "generation"})
    fresh, task = compute_trace(config)
    assert "".join(task.input_labels[0]).startswith("tdggg")
    assert "".join(task.target_labels[0]).startswith("o␣be,␣or␣not")
    net = trained_network(TrainedCache(), config)
    teacher = net.run(*_teacher_inputs(config), loss="cross_entropy")
    fed_back = compute_trace_with(config, net)
    assert round(teacher.loss) == 30 and round(fed_back[0].loss) == 50
    assert "".join(fed_back[1].input_labels[0]).startswith("to␣to␣␣or␣ou")


def _teacher_inputs(config):
    task = build_task(config)
    return task.x, task.targets


def compute_trace_with(config, net):
    """The free-running trace of a given (trained) network."""
    task = build_task(config)
    task = build_model(config, task, net).unroll(task)
    return net.run(task.x, task.targets, loss=task.loss), task


def test_elman_context_flow_is_a_diagonal(client):
    doc = client.post("/api/trace", json={"preset": "elman-context"}).json()
    flow = doc["flow"]["h_l0"]
    m, ks = np.array(flow["matrix"], dtype=float), flow["ks"]
    for row, k in zip(m, ks):
        assert np.all(row[:k] == 0.0), k                # t < k: L_k's gradient never crosses W
        assert row[k] > 0.0                             # t = k: it does reach h_k
    full = client.post("/api/trace", json={"preset": "elman-context", "recurrent_gradient": True}).json()
    full_m = np.array(full["flow"]["h_l0"]["matrix"], dtype=float)
    assert full_m[-1, 0] > 0.0 and round(full_m[-1, 0], 4) == 0.0025   # the story's number
    np.testing.assert_allclose(np.diag(m), np.diag(full_m))


def test_elman_context_stream_meta_carries_the_field_and_matches_rest(client):
    small = {"preset": "elman-context", "seq_len": 6, "hidden_size": 6, "batch_size": 2}
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": small, "mode": "play", "delay_ms": None})
        messages = receive_until(ws, {"done", "error"})
    meta, summary = messages[0], messages[-2]
    assert meta["config"]["recurrent_gradient"] is False and summary["type"] == "summary"
    rest = client.post("/api/trace", json=small).json()
    np.testing.assert_allclose(summary["gradient_norms"]["h_l0"], rest["gradient_norms"]["h_l0"], rtol=1e-9)
    flow = np.array(summary["flow"]["h_l0"]["matrix"], dtype=float)
    assert np.all(np.tril(flow, -1) == 0.0) and np.all(np.diag(flow) > 0)


def test_generation_stream_shows_the_fed_back_symbols(client):
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": GENERATION_SMALL, "mode": "play", "delay_ms": None})
        messages = receive_until(ws, {"done", "error"})
    meta = messages[0]
    _, task = compute_trace(resolve_config(GENERATION_SMALL))
    assert meta["config"]["unroll"] == "free_running"
    assert meta["input_labels"] == task.input_labels[0] and meta["has_target"] == [True] * 8
    x0 = [e for e in messages if e.get("type") == "event" and e["phase"] == "forward" and e["node"] == "h_l0"]
    assert len(x0) == 8


def test_sequence_classification_has_one_target_at_the_end():
    config = resolve_config({"preset": "sequence-classification"})
    has = build_task(config).has_target[:, 0]
    assert has.tolist() == [False] * (config.seq_len - 1) + [True]


def test_the_teacher_forced_comparison_of_a_trained_generator_has_the_same_weights():
    """The page's side-by-side graph asks for the trained network with unroll = teacher_forced:
    training always teacher-forces, so both configs train the very same weights."""
    small = {"preset": "generation", "seq_len": 8, "hidden_size": 8, "epochs": 3}
    free = trained_network(TrainedCache(), resolve_config(small)).state_dict()
    forced = trained_network(TrainedCache(), resolve_config({**small, "unroll": "teacher_forced"})).state_dict()
    assert free.keys() == forced.keys()
    for name in free:
        np.testing.assert_array_equal(free[name], forced[name])
