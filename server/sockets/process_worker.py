"""A stream's engine work in a worker process, so that it never holds the event loop's GIL.

Opt-in (``Settings.stream_processes``, ``UNROLLED_STREAM_PROCESSES=1``) for streams of a config
(``source: "config"``, the page's default); the other sources (a loaded trace, an uploaded model, a
trained network) live in the server process and stay in threads. The process is forked from a
forkserver that has already imported the engine (a fork costs milliseconds, not an interpreter
start). The worker computes and encodes each event there, at most ``prefetch`` ahead of what the
client has received (one credit per event sent, over the pipe), then the summary. A thread of the
server relays its pipe to the event loop (reading a pipe releases the GIL), and ``stop()`` kills
the process: cancelling a run is immediate, even in the middle of a summary. The process runs at
a lower CPU priority (nice 10), so the OS scheduler serves the event loop first.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from multiprocessing.connection import Connection
from typing import Any

from unrolled.server.config import TraceConfig
from unrolled.server.sockets.slots import EngineSlots
from unrolled.server.sockets.stream_worker import AHEAD_UNBOUNDED, EngineWorker, EventInfo
from unrolled.server.sockets.worker import POLL_S

_CONTEXT: Any = None
WORKER_NICENESS = 10  # a worker process yields the CPU to the server's event loop (threads cannot: one GIL)


def process_context() -> Any:
    """The forkserver context whose server has imported the engine (started on first use)."""
    global _CONTEXT
    if _CONTEXT is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__, "unrolled.server.runs", "unrolled.server.wire.events"])
        _CONTEXT = context
    return _CONTEXT


def can_run_in_process(config: Any) -> bool:
    """True for a config a worker process can rebuild (the default bounds' TraceConfig pickles by name)."""
    return type(config) is TraceConfig


def run_stream(config: TraceConfig, prefetch: int, conn: Connection, encoding: str = "json") -> None:
    """In the worker process: meta, one encoded event per credit, then the summary (or an error)."""
    from unrolled.server.runs import config_source
    from unrolled.server.wire.events import encode_event
    from unrolled.server.wire.messages import summary_message
    from unrolled.server.wire.serialize import dumps

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle: it kills this process
    os.nice(WORKER_NICENESS)  # the event loop's process goes first whenever it has work
    source = None
    try:
        source = config_source(config)
        conn.send(("meta", source.meta))
        credits, seq = prefetch, 0
        for event in source.events:
            while credits <= 0:
                credits += conn.recv()  # one credit per event the client has been sent
            info = (seq, event.phase, event.node, int(event.t), float(event.norm), bool(event.padding))
            conn.send(("event", encode_event(event, seq, source.batch_index, encoding), info))
            credits, seq = credits - 1, seq + 1
        conn.send(("summary", dumps(summary_message(source.finished_trace()))))
    except (EOFError, BrokenPipeError):  # the server stopped listening
        return
    except Exception as exc:  # an engine failure is reported to the client, never raised
        try:
            conn.send(("error", f"the run failed: {type(exc).__name__}: {exc}"))
        except OSError:
            pass
    finally:
        if source is not None:
            source.close()


class ProcessEngineWorker(EngineWorker):
    """An EngineWorker whose engine runs in a worker process; its thread only relays the pipe."""

    def __init__(self, config: TraceConfig, slots: EngineSlots, prefetch: int, encoding: str = "json") -> None:
        super().__init__(lambda: None, slots, prefetch, encoding)
        self._config = config
        self._prefetch = prefetch
        self._process: Any = None
        self._conn: Connection | None = None

    def _send_credits(self, credits: int) -> None:
        """Hand the process credits (the caller holds the credit lock: two threads send them)."""
        try:
            if self._conn is not None:
                self._conn.send(credits)
        except OSError:  # the process has ended
            pass

    def consumed(self) -> None:
        """The client received one event: the process may compute one more."""
        with self._credit_lock:
            self._send_credits(1)

    def compute_ahead(self, unbounded: bool) -> None:
        """As EngineWorker's: the process gets (or gives back) AHEAD_UNBOUNDED credits."""
        with self._credit_lock:
            if unbounded != self._unbounded:
                self._unbounded = unbounded
                self._send_credits(AHEAD_UNBOUNDED if unbounded else -AHEAD_UNBOUNDED)

    def stop(self) -> None:
        """Stop relaying and kill the process (immediate, whatever it is computing)."""
        super().stop()
        if self._process is not None and self._process.is_alive():
            self._process.kill()

    def work(self) -> None:
        """Start the process and relay its messages until it ends or the worker is stopped."""
        context = process_context()
        conn, child = context.Pipe()
        self._process = context.Process(target=run_stream, args=(self._config, self._prefetch, child, self._encoding),
                                        name="unrolled-stream-process", daemon=True)
        self._process.start()
        child.close()
        with self._credit_lock:  # compute_ahead may have come before the pipe existed
            self._conn = conn
            if self._unbounded:
                self._send_credits(AHEAD_UNBOUNDED)
        if self.stopped:  # stopped while the process started
            self._process.kill()
        while not self.stopped:
            if not self._conn.poll(POLL_S):
                if not self._process.is_alive() and not self._conn.poll():
                    self.emit_final("error", "the run failed: its worker process ended unexpectedly")
                    return
                continue
            try:
                item = self._conn.recv()
            except (EOFError, OSError):
                continue  # the process ended: the check above reports it
            if item[0] == "event":
                self.emit_batched("event", item[1], EventInfo(*item[2]))
            elif item[0] == "meta":
                self.emit("meta", item[1])
            else:  # "summary" or "error": the last message
                self.emit_final(*item)
                return

    def cleanup(self) -> None:
        """Reap the process and close the pipe (the Process object stays: ``stop`` may still ask it)."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(5)
        if self._conn is not None:
            self._conn.close()
