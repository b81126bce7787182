"""/ws/train: epochs, done, pause/resume/stop, validation, sampling, disconnects, the busy limit,
and the trained network for /ws/trace (rebuilt from its trained config)."""

from __future__ import annotations

import math

import anyio
import numpy as np
import pytest
from fastapi.testclient import TestClient

from unrolled.engine.tasks import DEFAULT_TEXT
from unrolled.server.app import create_app
from unrolled.server.config import resolve_config
from unrolled.server.training import TrainedCache, trained_network, trained_source, trained_source_factory
from server_helpers import app_settings, receive, receive_until, strict_json, threads_named, wait_for_no_threads

CHAR = {"preset": "char-lm", "seq_len": 12, "hidden_size": 8}
LONG = {"preset": "char-lm", "seq_len": 6, "hidden_size": 4, "batch_size": 1, "epochs": 5000}


def train_client(template_dir, **changes) -> TestClient:
    """A TestClient of an app whose settings have ``changes`` (Settings fields)."""
    return TestClient(create_app(app_settings(**changes), templates_dir=template_dir))


@pytest.fixture()
def tclient(template_dir):
    with train_client(template_dir) as c:
        yield c


def train_threads() -> int:
    return threads_named("unrolled-train")


def wait_for_no_train_threads(timeout: float = 10.0) -> None:
    wait_for_no_threads("unrolled-train", timeout)


def receive_raw(ws, timeout: float = 20.0) -> dict:
    """The next message, parsed strictly (no NaN/Infinity literals)."""

    async def get():
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()

    return strict_json(ws.portal.call(get)["text"])


def test_training_sends_meta_an_epoch_per_epoch_and_done(tclient):
    with tclient.websocket_connect("/ws/train") as ws:
        ws.send_json({"type": "start", "config": {**CHAR, "epochs": 6, "clip": 5.0}})
        messages = receive_until(ws, {"done", "error"})
    meta, epochs, done = messages[0], messages[1:-1], messages[-1]
    assert meta["type"] == "meta" and meta["epochs"] == 6 and meta["T"] == 12 and meta["nodes"] == ["h_l0"]
    assert meta["config"]["optimizer"] == "adam" and meta["config"]["lr"] == 0.01 and meta["can_sample"]
    assert [e["type"] for e in epochs] == ["epoch"] * 6
    assert [e["epoch"] for e in epochs] == list(range(1, 7))
    first = epochs[0]
    assert len(first["grad_norms"]["h_l0"]) == 12 and set(first["param_grad_norms"]) == set(meta["params"])
    assert isinstance(first["clipped"], bool) and first["grad_norm"] > 0 and 0 <= first["accuracy"] <= 1
    assert epochs[-1]["loss"] < first["loss"]
    assert epochs[-1]["elapsed_s"] >= first["elapsed_s"]
    assert done["reason"] == "finished" and done["epochs_done"] == 6
    assert done["final_loss"] == epochs[-1]["loss"]
    assert done["trained_config"]["epochs"] == 6 and done["trained_config"]["clip"] == 5.0


def test_the_same_config_trains_the_same_way_twice(tclient):
    losses = []
    for _ in range(2):
        with tclient.websocket_connect("/ws/train") as ws:
            ws.send_json({"type": "start", "config": {**CHAR, "epochs": 4, "optimizer": "sgd", "lr": 0.1}})
            losses.append([m["loss"] for m in receive_until(ws, {"done"}) if m["type"] == "epoch"])
    assert losses[0] == losses[1] and len(losses[0]) == 4


def test_exploding_with_clipping_reports_clipping_and_stays_finite(tclient):
    """The exploding preset with clip = 1: every epoch finite and clipped at first; unclipped SGD diverges."""
    base = {"preset": "exploding", "epochs": 30, "optimizer": "sgd", "lr": 0.01}
    with tclient.websocket_connect("/ws/train") as ws:
        ws.send_json({"type": "start", "config": {**base, "clip": 1.0}})
        clipped = [receive_raw(ws)]
        while clipped[-1]["type"] != "done":
            clipped.append(receive_raw(ws))
        ws.send_json({"type": "start", "config": base})
        unclipped = receive_until(ws, {"done"})
    epochs = [m for m in clipped if m["type"] == "epoch"]
    assert len(epochs) == 30 and epochs[0]["clipped"] and clipped[-1]["reason"] == "finished"
    assert all(isinstance(e["loss"], float) and math.isfinite(e["loss"]) for e in epochs)
    assert unclipped[-1]["reason"] == "diverged" and unclipped[-1]["epochs_done"] < 30


@pytest.mark.parametrize("config,field", [
    ({"preset": "char-lm", "lr": 0}, "lr"),
    ({"preset": "char-lm", "epochs": 10**9}, "epochs"),
    ({"preset": "char-lm", "optimizer": "rmsprop"}, "optimizer"),
    ({"preset": "char-lm", "tbptt": 500}, "tbptt"),
    ({"preset": "bidirectional", "tbptt": 4}, "tbptt"),
    ({"preset": "char-lm", "clip": -1.0}, "clip"),
])
def test_bad_configs_are_errors_naming_the_field(tclient, config, field):
    with tclient.websocket_connect("/ws/train") as ws:
        ws.send_json({"type": "start", "config": config})
        reply = receive(ws)
        assert reply["type"] == "error" and reply["field"] == field, reply
        ws.send_json({"type": "start", "config": {**CHAR, "epochs": 1}})   # the socket stays usable
        assert receive_until(ws, {"done"})[-1]["epochs_done"] == 1


def test_bad_messages_and_commands_without_a_training(tclient):
    with tclient.websocket_connect("/ws/train") as ws:
        for message, field in (({"type": "nope"}, "type"), ({"type": "pause"}, "type"),
                               ({"type": "sample"}, "type"), ({"type": "sample", "length": 0}, "length")):
            ws.send_json(message)
            reply = receive(ws)
            assert reply["type"] == "error" and reply["field"] == field, (message, reply)
        ws.send_text("{not json")
        assert receive(ws)["type"] == "error"


def test_pause_resume_and_stop_take_effect_at_the_next_epoch(tclient):
    with tclient.websocket_connect("/ws/train") as ws:
        ws.send_json({"type": "start", "config": LONG})
        assert receive(ws)["type"] == "meta"
        first = receive(ws)
        ws.send_json({"type": "pause"})
        before = [first] + receive_until(ws, {"paused"})
        assert all(m["type"] == "epoch" for m in before[:-1])
        paused_at = before[-1]["epoch"]
        assert before[-2]["epoch"] == paused_at                       # it halted right after the last epoch sent
        with pytest.raises(TimeoutError):
            receive(ws, timeout=0.3)                                  # nothing while paused
        ws.send_json({"type": "sample", "length": 5})                 # the paused network can be sampled
        assert len(receive(ws)["text"]) == 5
        ws.send_json({"type": "resume"})
        resumed = receive(ws)
        assert resumed == {"type": "resumed", "epoch": paused_at}
        after = receive(ws)
        assert after["epoch"] == paused_at + 1
        ws.send_json({"type": "stop"})
        rest = receive_until(ws, {"done"})
        done = rest[-1]
        # how many epochs were already on their way when stop arrived depends on the machine's load:
        # the stop must end the run long before its 5000 epochs, at the last epoch it reported
        last_reported = max([after["epoch"]] + [m["epoch"] for m in rest if m["type"] == "epoch"])
        assert done["reason"] == "stopped" and last_reported <= done["epochs_done"] <= last_reported + 1
        assert done["epochs_done"] < LONG["epochs"] // 10
        assert done["trained_config"]["epochs"] == done["epochs_done"]
        ws.send_json({"type": "stop"})
        assert receive(ws)["type"] == "error"                         # nothing left to stop
    wait_for_no_train_threads()


def test_sampling_generates_seeded_text_from_the_vocabulary(tclient):
    with tclient.websocket_connect("/ws/train") as ws:
        ws.send_json({"type": "start", "config": {**CHAR, "epochs": 20}})
        receive_until(ws, {"done"})
        texts = []
        for _ in range(2):
            ws.send_json({"type": "sample", "length": 40, "prime": "to ", "seed": 3, "temperature": 0.7})
            reply = receive(ws)
            assert reply["type"] == "sample" and reply["prime"] == "to "
            texts.append(reply["text"])
        assert texts[0] == texts[1] and len(texts[0]) == 40
        assert set(texts[0]) <= set(DEFAULT_TEXT)
        ws.send_json({"type": "sample", "prime": "Z"})
        reply = receive(ws)
        assert reply["type"] == "error" and reply["field"] == "prime"
        ws.send_json({"type": "start", "config": {"preset": "lstm-memory", "seq_len": 5, "epochs": 1}})
        receive_until(ws, {"done"})
        ws.send_json({"type": "sample"})
        assert receive(ws)["type"] == "error"


def test_leaving_stops_the_training_and_frees_its_slot(template_dir):
    with train_client(template_dir, max_streams=1) as c:
        with c.websocket_connect("/ws/train") as ws:
            ws.send_json({"type": "start", "config": LONG})
            receive(ws)
            receive(ws)
        wait_for_no_train_threads()
        with c.websocket_connect("/ws/train") as ws:
            ws.send_json({"type": "start", "config": {**CHAR, "epochs": 1}})
            assert receive_until(ws, {"done", "error"})[-1]["type"] == "done"


def test_busy_when_every_slot_is_taken(template_dir):
    with train_client(template_dir, max_streams=1) as c:
        with c.websocket_connect("/ws/train") as first, c.websocket_connect("/ws/train") as second:
            first.send_json({"type": "start", "config": LONG})
            receive(first)
            second.send_json({"type": "start", "config": {**CHAR, "epochs": 1}})
            reply = receive(second)
            assert reply["type"] == "error" and "busy" in reply["detail"]
            first.send_json({"type": "stop"})
            receive_until(first, {"done"})
    wait_for_no_train_threads()


def test_a_paused_training_is_stopped_after_the_idle_limit(template_dir):
    with train_client(template_dir, stream_idle_s=0.3) as c, c.websocket_connect("/ws/train") as ws:
        ws.send_json({"type": "start", "config": LONG})
        receive(ws)
        ws.send_json({"type": "pause"})
        receive_until(ws, {"paused"})
        messages = receive_until(ws, {"done"}, timeout=5)
        assert messages[0]["type"] == "error" and "paused" in messages[0]["detail"]
        assert messages[-1]["reason"] == "stopped"


def test_trained_config_rebuilds_the_trained_network_in_any_process(tclient):
    """The socket's trained network is cached; a process without the cache trains it again, bit for bit,
    and the step-through source streams that network."""
    with tclient.websocket_connect("/ws/train") as ws:
        ws.send_json({"type": "start", "config": {**CHAR, "epochs": 7, "tbptt": 4, "clip": 1.0}})
        done = receive_until(ws, {"done"})[-1]
    config = resolve_config(done["trained_config"])
    cache = tclient.app.state.trained
    cached = cache.get(config)
    assert cached is not None
    rebuilt = trained_network(TrainedCache(), config)    # a process that never saw it
    for name, value in cached.state_dict().items():
        np.testing.assert_array_equal(rebuilt.state_dict()[name], value)
    source = trained_source(cache, config)
    assert source.meta["title"] == "Trained 7 epochs: A character-level language model (modified)"  # seq_len 12
    assert source.meta["T"] == 12
    events = list(source.events)
    trace = source.finished_trace()
    assert len(events) == source.meta["total_events"]
    assert trace.params["weight_hh_l0"].tolist() == cached.state_dict()["weight_hh_l0"].tolist()


def test_trained_source_factory_validates_before_any_work():
    """The /ws/trace hook: bad configs are (detail, field) at once; a good one is a deferred source."""
    assert trained_source_factory(TrainedCache(), {"preset": "char-lm", "lr": -1})[1] == "lr"
    assert trained_source_factory(TrainedCache(), {"preset": "bidirectional", "tbptt": 3})[1] == "tbptt"
    make = trained_source_factory(TrainedCache(), {**CHAR, "epochs": 2})
    assert callable(make)
    source = make()
    assert source.meta["type"] == "meta" and source.meta["config"]["epochs"] == 2
    plain = trained_source_factory(TrainedCache(), {"preset": "char-lm", "epochs": 1, "optimizer": "sgd"})()
    assert plain.meta["title"] == "Trained 1 epoch: A character-level language model"   # training is no change
    plain.close()
    source.close()
