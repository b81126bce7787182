"""Opt-in worker processes (Settings.stream_processes): the same stream as a thread's, and a stop that
ends the process at once."""

from __future__ import annotations

from server_helpers import receive, receive_until, wait_for_no_threads
from unrolled.server.sockets import trace
from unrolled.server.sockets.process_worker import ProcessEngineWorker

SMALL = {"preset": "lstm-memory", "seq_len": 6, "batch_size": 2, "hidden_size": 4}
LONG = {"cell": "rnn_tanh", "seq_len": 400, "hidden_size": 8, "task": "copy"}


def play(client, config: dict) -> list[dict]:
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": config, "mode": "play"})
        return receive_until(ws, {"done", "error"})


def test_a_process_streams_exactly_what_a_thread_streams(make_client):
    in_process = play(make_client(stream_processes=True), SMALL)
    in_thread = play(make_client(stream_processes=False), SMALL)
    assert in_process[-1] == {"type": "done"}
    assert in_process == in_thread
    wait_for_no_threads("unrolled-stream")


def test_stop_kills_the_process_and_frees_the_slot(make_client, monkeypatch):
    workers: list[ProcessEngineWorker] = []

    class Recorded(ProcessEngineWorker):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            workers.append(self)

    monkeypatch.setattr(trace, "ProcessEngineWorker", Recorded)
    client = make_client(stream_processes=True, max_streams=1)
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": LONG, "mode": "step"})
        assert receive(ws)["type"] == "meta"
        assert not client.app.state.slots.try_acquire()  # the process's run holds the one slot
        assert workers[0]._process.is_alive()
        ws.send_json({"type": "stop"})
        ws.send_json({"type": "nope"})
        assert receive(ws)["type"] == "error"  # handled after the stop, which waited for the relay thread
        assert not workers[0]._process.is_alive()
        assert client.app.state.slots.try_acquire()
        client.app.state.slots.release()
    wait_for_no_threads("unrolled-stream")
