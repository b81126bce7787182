"""The encoder–decoder (task "reverse", preset "seq2seq") through config, REST and the sockets:
one joined time axis with its segments, the decoder's losses only, the gradient crossing the
context, and clear errors where a route takes single RNNs only."""

from __future__ import annotations

import numpy as np
import pytest

from unrolled import engine
from unrolled.engine.patterns import Seq2Seq
from unrolled.server.config import resolve_config
from unrolled.server.config import SCHEMA_SETTINGS as settings
from unrolled.server.runs import loaded_source
from server_helpers import receive_until

SMALL = {"preset": "seq2seq", "seq_len": 5, "hidden_size": 6, "batch_size": 2}


def stream(client, config: dict) -> list[dict]:
    """Every message of one played stream, meta to done."""
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": config, "mode": "play", "delay_ms": None})
        return receive_until(ws, {"done", "error"})


@pytest.mark.parametrize("body, field", [
    ({"task": "reverse", "bidirectional": True}, "bidirectional"),
    ({"task": "reverse", "tbptt": 2, "seq_len": 6}, "tbptt"),
    ({"task": "reverse", "recurrent_gradient": False}, "recurrent_gradient"),
    ({"task": "copy", "unroll": "free_running"}, "unroll"),
    ({"task": "reverse", "seq_len": settings.max_seq2seq_len + 1}, "seq_len"),
    ({"task": "reverse", "loss": "mse"}, "loss"),
    # the units bound counts the encoder's and the decoder's steps: 2·32·64·16 = 65536 is at the
    # limit for one layer, twice that with two
    ({"task": "reverse", "seq_len": 32, "batch_size": 64, "hidden_size": 16, "num_layers": 2}, "seq_len"),
], ids=["bidirectional", "tbptt", "elman", "free-running-copy", "too-long", "loss", "units"])
def test_seq2seq_configs_the_engine_cannot_run_are_a_422_naming_the_field(client, body, field):
    r = client.post("/api/trace", json=body)
    assert r.status_code == 422, r.text
    assert ["body", field] in [e["loc"] for e in r.json()["detail"]]


def test_the_preset_resolves_and_round_trips():
    config = resolve_config({"preset": "seq2seq"})
    assert config.seq2seq and config.task == "reverse" and config.loss == "cross_entropy"
    assert resolve_config(config.model_dump()) == config
    assert not resolve_config({"preset": "char-lm"}).seq2seq


def test_rest_trace_is_the_joined_axis_and_equals_the_engine(client):
    body = client.post("/api/trace", json=SMALL).json()
    config = resolve_config(SMALL)
    task = engine.tasks.make_task("reverse", 5, 2, config.seed)
    model = Seq2Seq.random("gru", task.input_size, 6, task.output_size, seed=config.seed,
                           recurrent_scale=config.recurrent_scale)
    joined = model.run_joined(task.x, task.targets, 5)
    assert body["T"] == 10 and body["segments"] == [seg.as_dict() for seg in joined.stages]
    assert body["loss"] == pytest.approx(joined.loss, rel=1e-12)
    assert set(body["grads"]) == set(model.state_dict()) == set(body["params"])
    np.testing.assert_allclose(body["gradient_norms"]["h_l0"], joined.gradient_norms["h_l0"], rtol=1e-12)
    assert body["input_labels"][0][5] == "<go>" and body["target_labels"][0][:5] == [None] * 5
    # the decoder writes the encoder's input reversed
    assert body["target_labels"][0][5:] == body["input_labels"][0][:5][::-1]
    assert body["flow"]["h_l0"]["ks"] == list(range(5, 10))
    assert [body["activations"]["logits"][t][0][0] for t in range(5)] == ["NaN"] * 5   # the encoder emits nothing


def test_stream_plays_the_joined_run_and_its_summary_matches_rest(client):
    messages = stream(client, SMALL)
    meta, summary, done = messages[0], messages[-2], messages[-1]
    assert meta["type"] == "meta" and summary["type"] == "summary" and done["type"] == "done"
    assert meta["T"] == 10 and meta["segments"] == [{"name": "encoder", "start": 0, "stop": 5},
                                                    {"name": "decoder", "start": 5, "stop": 10}]
    assert meta["has_target"] == [False] * 5 + [True] * 5
    events = [m for m in messages if m["type"] == "event"]
    assert len(events) == meta["total_events"] == engine.event_schedule(1, 1, engine.seq2seq_chain(5, 10))["total"]
    assert {e["t"] for e in events if e["node"] in ("logits", "loss")} == set(range(5, 10))
    # the gradient crosses the context last: the final events walk the encoder back to t = 0
    tail = [e["t"] for e in events[-5:]]
    assert tail == [4, 3, 2, 1, 0] and all(e["phase"] == "backward" and e["node"] == "h_l0" for e in events[-5:])
    rest = client.post("/api/trace", json=SMALL).json()
    np.testing.assert_allclose(summary["gradient_norms"]["h_l0"], rest["gradient_norms"]["h_l0"], rtol=1e-12)
    assert set(summary["spectra"]) == {"encoder h_l0", "decoder h_l0"}


def test_preset_story_the_first_input_gets_the_least_gradient(client):
    summary = stream(client, {"preset": "seq2seq"})[-2]
    norms = np.array(summary["gradient_norms"]["h_l0"], dtype=float)
    T_in = resolve_config({"preset": "seq2seq"}).seq_len
    encoder = norms[:T_in]
    assert np.argmin(encoder) == 0 and encoder[0] < 0.1 * encoder[-1]
    flow = np.array(summary["flow"]["h_l0"]["matrix"], dtype=float)
    assert flow.shape == (T_in, 2 * T_in) and (flow[:, :T_in] > 0).all()   # every loss reaches every encoder step


def test_the_npz_trace_holds_the_joined_run_with_its_segments(client, tmp_path):
    """The .npz export of an encoder–decoder is its one Trace: loaded back, it has both halves'
    weights, the same segments, losses and gradients as the JSON trace."""
    r = client.post("/api/trace.npz", json=SMALL)
    assert r.status_code == 200, r.text
    (tmp_path / "joined.npz").write_bytes(r.content)
    loaded = engine.load_trace(tmp_path / "joined.npz")
    body = client.post("/api/trace", json=SMALL).json()
    assert loaded.segmented and [seg.as_dict() for seg in loaded.stages] == body["segments"]
    assert set(loaded.params) == set(body["params"]) and loaded.loss == pytest.approx(body["loss"], rel=1e-12)
    np.testing.assert_allclose(loaded.gradient_norms["h_l0"], body["gradient_norms"]["h_l0"], rtol=1e-12)
    # `unrolled view` of the file plays it as the stream does, halves and all
    streamed = stream(client, SMALL)
    source = loaded_source(loaded, "joined.npz")
    assert source.meta["segments"] == streamed[0]["segments"] and source.meta["schedule"] == streamed[0]["schedule"]
    assert sum(1 for _ in source.events) == source.meta["total_events"] == streamed[0]["total_events"]


def test_compare_refuses_an_encoder_decoder_naming_the_task(client):
    r = client.post("/api/compare", json={"configs": [SMALL, {"preset": "char-lm"}]})
    assert r.status_code == 422 and ["body", "configs", 0, "task"] in [e["loc"] for e in r.json()["detail"]]


def test_training_an_encoder_decoder_then_stepping_through_it(client):
    """/ws/train trains both halves (the profiles span the joined axis); the trained model plays on
    /ws/trace with the segments, and its loss is the last epoch's after one more update."""
    with client.websocket_connect("/ws/train") as ws:
        ws.send_json({"type": "start", "config": {**SMALL, "epochs": 40}})
        messages = receive_until(ws, {"done", "error"})
    meta, epochs, done = messages[0], [m for m in messages if m["type"] == "epoch"], messages[-1]
    assert meta["type"] == "meta" and meta["T"] == 10 and meta["segments"][1] == {"name": "decoder", "start": 5, "stop": 10}
    assert meta["nodes"] == ["h_l0"] and "encoder.weight_hh_l0" in meta["params"] and meta["updates_per_epoch"] == 1
    assert done["type"] == "done" and done["epochs_done"] == 40 and len(epochs) == 40
    assert all(len(e["grad_norms"]["h_l0"]) == 10 for e in epochs)
    assert epochs[-1]["loss"] < 0.5 * epochs[0]["loss"] and epochs[-1]["accuracy"] > epochs[0]["accuracy"]
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": done["trained_config"], "source": "trained", "mode": "play",
                      "delay_ms": None})
        played = receive_until(ws, {"done", "error"})
    assert played[0]["title"].startswith("Trained 40 epochs") and played[0]["segments"] == meta["segments"]
    assert played[-2]["type"] == "summary" and played[-2]["loss"] < epochs[-1]["loss"]


def test_free_running_decoder_reads_its_own_outputs_from_the_context(client):
    """unroll=free_running: the encoder reads the symbols, the decoder <go> and then its own argmax."""
    body = client.post("/api/trace", json={**SMALL, "unroll": "free_running"}).json()
    x = np.array(body["x"], dtype=float)
    logits = np.array(body["activations"]["logits"][5:], dtype=float)                # the decoder's steps
    teacher = client.post("/api/trace", json=SMALL).json()
    np.testing.assert_array_equal(x[:6], np.array(teacher["x"], dtype=float)[:6])     # same input and <go>
    np.testing.assert_array_equal(x[6:].argmax(-1), logits[:-1].argmax(-1))          # fed back
    labels = body["input_labels"][0]
    assert labels[:6] == teacher["input_labels"][0][:6]
    assert labels[6:] == [body["output_labels"][i] for i in logits[:-1, 0].argmax(-1)]
    assert body["target_labels"] == teacher["target_labels"]                        # the targets stay
    messages = stream(client, {**SMALL, "unroll": "free_running"})
    assert messages[0]["input_labels"] == labels and messages[-1]["type"] == "done"


def test_preset_story_numbers():
    """The numbers the seq2seq story quotes, recomputed."""
    from unrolled.server.runs import compute_trace

    def run(**over):
        return compute_trace(resolve_config({"preset": "seq2seq", **over}))[0]
    joined = run()
    g = joined.gradient_norms["h_l0"]
    assert round(g[0], 4) == 0.0054 and round(g[7] / g[0]) == 17
    ks, matrix = joined.flow_matrix("h_l0")
    assert ks[-1] == 15 and f"{matrix[-1, 0]:.2g}" == "0.00046"
    # issue 21: the reverse task needs its first input at its last output (lag 15): h₀'s 17× fade is vanishing
    (vanishing,) = joined.diagnose()
    assert vanishing.kind == "vanishing" and vanishing.numbers["required_lag"] == 15
    assert [f.kind for f in joined.diagnose(required_lag=3)] == ["horizon"]
    longer = run(seq_len=16)
    assert f"{longer.gradient_norms['h_l0'][0]:.1g}" == "0.0008"
    assert [f.kind for f in longer.diagnose()] == ["vanishing"]
    lstm = run(cell="lstm", forget_bias=3.0)
    assert round(lstm.gradient_norms["h_l0"][0], 2) == 0.11
    from unrolled.server.training import TrainingRun
    config = resolve_config({"preset": "seq2seq"})
    records = list(TrainingRun(config).trainer.epochs())
    assert len(records) == config.epochs == 100
    assert round(records[0].loss, 1) == 14.5 and round(records[-1].loss, 2) == 0.25
