"""/ws/trace: play, step, pause and resume, breakpoints, errors and recovery, disconnects, the busy limit."""

from __future__ import annotations


from unrolled import engine
import pytest

from server_helpers import receive, receive_until, threads_named, wait_for_no_threads

SMALL = {"preset": "lstm-memory", "seq_len": 6, "batch_size": 2, "hidden_size": 4}
LONG = {"cell": "rnn_tanh", "seq_len": 400, "hidden_size": 8, "task": "copy"}
EXPLODING_TO_INF = {"cell": "rnn_relu", "recurrent_scale": 10.0, "seq_len": 1000, "hidden_size": 8}


def stream_threads() -> int:
    return threads_named("unrolled-stream")


def wait_for_no_stream_threads(timeout: float = 10.0) -> None:
    wait_for_no_threads("unrolled-stream", timeout)


def assert_quiet(ws) -> None:
    """Nothing is sent unprompted: the next message is the reply to a bad message."""
    ws.send_json({"type": "no-such-type"})
    assert receive(ws)["type"] == "error"


def test_play_streams_meta_every_event_summary_and_done(client):
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": SMALL, "mode": "play", "delay_ms": None})
        messages = receive_until(ws, {"done", "error"})
    meta, events, summary, done = messages[0], messages[1:-2], messages[-2], messages[-1]
    assert meta["type"] == "meta" and done == {"type": "done"}
    T = 6
    assert meta["T"] == T and meta["cell"] == "lstm" and meta["nodes"] == ["h_l0"]
    assert meta["config"]["preset"] == "lstm-memory" and meta["config"]["seq_len"] == T
    assert meta["total_events"] == engine.event_count(T, 1, 1) == len(events)
    assert meta["has_target"] == [False] * (T - 1) + [True]
    assert meta["input_labels"][-1] == "?" and meta["output_labels"] == ["A", "B", "C", "D"]
    assert "(modified)" in meta["title"] and meta["story"]
    assert [e["seq"] for e in events] == list(range(len(events)))
    first = events[0]
    assert (first["phase"], first["node"], first["t"], first["layer"], first["direction"]) == ("forward", "h_l0", 0, 0, 0)
    assert set(first["values"]) == {"h", "c", "i", "f", "g", "o"} and len(first["values"]["h"]) == 4
    assert set(first["norms"]) == set(first["values"])
    backward_h = [e for e in events if e["phase"] == "backward" and e["node"] == "h_l0"]
    assert [e["t"] for e in backward_h] == list(range(T - 1, -1, -1))
    assert "dh" in backward_h[0]["values"] and "dc" in backward_h[0]["values"]
    assert summary["type"] == "summary"
    assert len(summary["gradient_norms"]["h_l0"]) == T and len(summary["loss_t"]) == T
    assert set(summary) >= {"loss", "jacobian_norms", "grad_contributions", "grad_norms", "vanishing", "flow"}
    # the stream's norms are the REST trace's (rounded only in `values`)
    rest = client.post("/api/trace", json=SMALL).json()
    assert summary["gradient_norms"] == rest["gradient_norms"]
    assert [e["norm"] for e in backward_h][::-1] == pytest.approx(rest["gradient_norms"]["h_l0"], rel=1e-12)


def test_step_mode_sends_one_event_per_step_then_summary_and_done(client):
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": SMALL, "mode": "step"})
        meta = receive(ws)
        assert meta["type"] == "meta"
        assert_quiet(ws)
        for seq in range(3):
            ws.send_json({"type": "step"})
            event = receive(ws)
            assert (event["type"], event["seq"]) == ("event", seq)
        assert_quiet(ws)
        for seq in range(3, meta["total_events"]):
            ws.send_json({"type": "step"})
            assert receive(ws)["seq"] == seq
        assert receive(ws)["type"] == "summary"
        assert receive(ws)["type"] == "done"
        ws.send_json({"type": "step"})  # nothing left: done has answered it (the step may have crossed it)
        ws.send_json({"type": "no-such-type"})
        assert receive(ws)["detail"] != "no stream is running: send start first"


def test_pause_then_resume(client):
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": LONG, "mode": "play", "delay_ms": 5})
        assert receive(ws)["type"] == "meta"
        first = receive(ws)
        assert first["type"] == "event"
        ws.send_json({"type": "pause"})
        before = [first] + receive_until(ws, {"paused"})
        paused = before[-1]
        assert paused["reason"] == "pause"
        last_event = [m for m in before if m["type"] == "event"][-1]
        assert paused["seq"] == last_event["seq"]
        assert_quiet(ws)
        ws.send_json({"type": "play", "delay_ms": 0})
        rest = receive_until(ws, {"done"})
        seqs = [m["seq"] for m in rest if m["type"] == "event"]
        assert seqs[0] == paused["seq"] + 1
        assert seqs[-1] == engine.event_count(400, 1, 1) - 1
        assert rest[-2]["type"] == "summary"


def test_nonfinite_breakpoint(client):
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "break", "on": "nonfinite"})
        ws.send_json({"type": "start", "config": EXPLODING_TO_INF, "mode": "play"})
        messages = receive_until(ws, {"paused", "done"})
        paused = messages[-1]
        assert paused["type"] == "paused" and paused["reason"] == "nonfinite"
        hit = messages[-2]
        assert hit["seq"] == paused["seq"] and hit["phase"] == "forward"
        assert "Infinity" in hit["values"]["h"] or hit["norm"] in ("Infinity", "NaN")
        assert all(isinstance(v, float) for m in messages[1:-2] for v in m["values"]["h"])
        assert_quiet(ws)


def test_grad_below_breakpoint_stops_at_the_first_vanished_gradient(client):
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "break", "on": "grad_below", "value": 1e-3})
        ws.send_json({"type": "start", "config": {"preset": "vanishing-tanh"}, "mode": "play"})
        messages = receive_until(ws, {"paused", "done"})
        paused = messages[-1]
        assert paused["reason"] == "grad_below" and "h_l0" in paused["detail"]
        hit = messages[-2]
        assert (hit["phase"], hit["node"], hit["seq"]) == ("backward", "h_l0", paused["seq"])
        assert hit["norm"] < 1e-3
        earlier = [m for m in messages if m["type"] == "event" and m["phase"] == "backward" and m["node"] == "h_l0"]
        assert all(m["norm"] >= 1e-3 for m in earlier[:-1])
        # resuming does not stop again on the same node
        ws.send_json({"type": "play"})
        assert receive_until(ws, {"paused", "done"})[-1]["type"] == "done"


def test_grad_above_breakpoint(client):
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "break", "on": "grad_above", "value": 100.0})
        ws.send_json({"type": "start", "config": {"preset": "exploding"}, "mode": "play"})
        messages = receive_until(ws, {"paused", "done"})
        assert messages[-1]["reason"] == "grad_above"
        assert messages[-2]["phase"] == "backward" and messages[-2]["norm"] > 100.0


def test_removed_breakpoint_does_not_fire(client):
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "break", "on": "grad_above", "value": 100.0})
        ws.send_json({"type": "break", "on": "grad_above", "enabled": False})
        ws.send_json({"type": "start", "config": {"preset": "exploding"}, "mode": "play"})
        assert receive_until(ws, {"paused", "done"})[-1]["type"] == "done"


@pytest.mark.parametrize(
    "message, field",
    [
        ({"type": "start", "config": {"seq_len": 0}}, "seq_len"),
        ({"type": "start", "config": {"preset": "exploding", "hidden_size": 10_000}}, "hidden_size"),
        ({"type": "start", "config": {"seq_len": 1000, "batch_size": 64}}, "seq_len"),
        ({"type": "start", "config": {}, "mode": "fast"}, "mode"),
        ({"type": "start", "config": {}, "delay_ms": -5}, "delay_ms"),
        ({"type": "start", "source": "loaded"}, "source"),
        ({"type": "break", "on": "grad_below"}, "value"),
        ({"type": "break", "on": "sometimes", "value": 1.0}, "on"),
        ({"type": "play", "delay_ms": "slow"}, "delay_ms"),
        ({"type": "dance"}, "type"),
        ({"no_type": 1}, "type"),
        ({"type": "step"}, "type"),  # nothing to step through yet
    ],
)
def test_bad_messages_get_an_error_and_the_socket_recovers(client, message, field):
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json(message)
        error = receive(ws)
        assert error["type"] == "error" and error["field"] == field and error["detail"]
        ws.send_json({"type": "start", "config": SMALL, "mode": "play"})
        messages = receive_until(ws, {"done", "error"})
        assert messages[0]["type"] == "meta" and messages[-1]["type"] == "done"


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", "", "null", "x" * 70_000])
def test_malformed_text_gets_an_error(client, raw):
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_text(raw)
        error = receive(ws)
        assert error["type"] == "error"
        ws.send_bytes(b"\xff\xfe")
        assert receive(ws)["type"] == "error"


def test_a_new_start_replaces_the_running_stream(client):
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": LONG, "mode": "play", "delay_ms": 50})
        assert receive(ws)["type"] == "meta"
        ws.send_json({"type": "start", "config": SMALL, "mode": "play"})
        messages = receive_until(ws, {"done"})
        metas = [i for i, m in enumerate(messages) if m["type"] == "meta"]
        assert len(metas) == 1 and messages[metas[0]]["T"] == 6
        after = messages[metas[0] + 1:]
        assert [m["seq"] for m in after if m["type"] == "event"] == list(range(engine.event_count(6, 1, 1)))
    wait_for_no_stream_threads()


def test_disconnect_mid_stream_stops_the_worker(client):
    wait_for_no_stream_threads()
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": LONG, "mode": "play", "delay_ms": 20})
        receive(ws)
        receive(ws)
        assert stream_threads() == 1
    wait_for_no_stream_threads(timeout=5.0)
    assert client.app.state.slots.try_acquire()  # the slot came back
    client.app.state.slots.release()


def test_stop_frees_the_stream(client):
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": LONG, "mode": "step"})
        receive(ws)
        ws.send_json({"type": "stop"})
        assert_quiet(ws)
        wait_for_no_stream_threads()


def test_busy_when_every_slot_is_taken_then_free_again(make_client):
    client = make_client(max_streams=1)
    with client.websocket_connect("/ws/trace") as first, client.websocket_connect("/ws/trace") as second:
        first.send_json({"type": "start", "config": LONG, "mode": "step"})
        assert receive(first)["type"] == "meta"
        second.send_json({"type": "start", "config": SMALL})
        error = receive(second)
        assert error["type"] == "error" and "busy" in error["detail"]
        first.send_json({"type": "stop"})
        assert_quiet(first)
        second.send_json({"type": "start", "config": SMALL})
        assert receive_until(second, {"done", "error"})[-1]["type"] == "done"


def test_a_stream_left_paused_too_long_is_closed(make_client):
    client = make_client(stream_idle_s=0.3)
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": LONG, "mode": "step"})
        assert receive(ws)["type"] == "meta"
        error = receive(ws, timeout=5)
        assert error["type"] == "error" and "paused" in error["detail"]
        wait_for_no_stream_threads()
        ws.send_json({"type": "start", "config": SMALL})
        assert receive_until(ws, {"done", "error"})[-1]["type"] == "done"


def test_a_trained_network_can_be_stepped_through(client):
    trained = {"preset": "char-lm", "seq_len": 6, "hidden_size": 4, "batch_size": 1, "epochs": 2}
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "source": "trained", "config": {**trained, "lr": -1.0}})
        error = receive(ws)
        assert error["type"] == "error" and error["field"] == "lr"
        ws.send_json({"type": "start", "source": "trained", "config": trained, "mode": "play"})
        messages = receive_until(ws, {"done", "error"}, timeout=60)
    assert messages[0]["type"] == "meta" and messages[-1] == {"type": "done"}
    assert sum(m["type"] == "event" for m in messages) == messages[0]["total_events"]


def test_done_means_the_slot_is_free_again(make_client):
    """The worker releases its slot before its last message goes out: a client told "done" (or a
    run's error) can start again at once, even on a server with one slot."""
    client = make_client(max_streams=1)
    slots = client.app.state.slots
    with client.websocket_connect("/ws/trace") as ws:
        for _ in range(3):
            ws.send_json({"type": "start", "config": SMALL, "mode": "play"})
            assert receive_until(ws, {"done", "error"})[-1] == {"type": "done"}
            assert slots.try_acquire()
            slots.release()
    with client.websocket_connect("/ws/train") as ws:
        ws.send_json({"type": "start", "config": {**SMALL, "epochs": 1}})
        assert receive_until(ws, {"done", "error"})[-1]["type"] == "done"
        assert slots.try_acquire()
        slots.release()
