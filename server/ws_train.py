"""The live-training socket /ws/train (DESIGN.md §3).

client → {"type": "start", "config": {..., "epochs", "optimizer", "lr", "clip", "tbptt"}}
         {"type": "pause"} | {"type": "resume"} | {"type": "stop"}
         {"type": "sample", "length": n, "prime": str, "seed": s, "temperature": τ}   (char_lm)
server → {"type": "meta", ...} then one {"type": "epoch", ...} per epoch, then
         {"type": "done", "reason": "finished"|"stopped"|"diverged", "epochs_done", "final_loss",
          "trained_config"}; {"type": "paused", "reason": "pause", "epoch"} and {"type": "resumed", "epoch"}
         when the training actually halts / continues (at an epoch boundary); {"type": "sample", ...};
         {"type": "error", "detail", "field"}.

Training runs in a worker thread (one engine slot, shared with the trace streams), at most one
epoch ahead of what the client has received; pause and stop take effect at the next epoch
boundary; a training paused longer than the stream idle limit is stopped; leaving stops it.
`trained_config` rebuilds the trained network anywhere (training is deterministic): /ws/trace
steps through it with {"type": "start", "source": "trained", "config": trained_config}.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, WebSocket
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from unrolled.server.config import TraceConfig, first_error, resolve_config
from unrolled.server.messages import error_message
from unrolled.server.serialize import dumps
from unrolled.server.socket_loop import MessageConnection, serve_connection
from unrolled.server.streaming import StreamSlots
from unrolled.server.training import TRAINED, TrainingConfigError, TrainingRun, can_sample, resolve_training, sample_text

MAX_SAMPLE_LENGTH = 2000
_POLL_S = 0.05              # how often a waiting worker checks whether it was stopped
_JOIN_TIMEOUT_S = 10.0      # a stopped worker first finishes the epoch in progress

router = APIRouter()


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class StartMessage(_Message):
    """Train a config (replacing the current training)."""

    type: Literal["start"]
    config: dict[str, Any] | None = None


class PauseMessage(_Message):
    """Halt after the epoch in progress."""

    type: Literal["pause"]


class ResumeMessage(_Message):
    """Continue a paused training."""

    type: Literal["resume"]


class StopMessage(_Message):
    """End the training after the epoch in progress (the trained network is kept)."""

    type: Literal["stop"]


class SampleMessage(_Message):
    """Generate text from the current (or finished) char_lm network."""

    type: Literal["sample"]
    length: Annotated[int, Field(ge=1, le=MAX_SAMPLE_LENGTH)] = 200
    prime: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    temperature: Annotated[float, Field(gt=0.0, le=10.0, allow_inf_nan=False)] = 1.0


MESSAGE_TYPES: dict[str, type[_Message]] = {
    "start": StartMessage, "pause": PauseMessage, "resume": ResumeMessage, "stop": StopMessage,
    "sample": SampleMessage,
}


class TrainingWorker:
    """One training in a daemon thread; its messages (JSON text) arrive on ``queue``, then ("end",).

    The thread builds the run, sends meta, and after each epoch waits until the client has that
    epoch before training the next one; it honours pause/stop there.
    """

    def __init__(self, config: TraceConfig, slots: StreamSlots, idle_timeout_s: float) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()
        self.run: TrainingRun | None = None
        self.finished = False           # set before the last message (done or error) is sent
        self._loop = asyncio.get_running_loop()
        self._config = config
        self._slots = slots
        self._idle_timeout_s = idle_timeout_s
        self._delivered = threading.Semaphore(0)
        self._stopped = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self.thread = threading.Thread(target=self._work, name="unrolled-train", daemon=True)

    def start(self) -> None:
        """Start the thread (the caller has taken a slot for it)."""
        self.thread.start()

    def stop(self) -> None:
        """Finish after the epoch in progress."""
        self._stopped.set()
        self._running.set()

    def pause(self) -> None:
        """Halt at the next epoch boundary."""
        self._running.clear()

    def resume(self) -> None:
        """Continue after a pause."""
        self._running.set()

    def delivered(self) -> None:
        """The client has received an epoch message."""
        self._delivered.release()

    def _emit(self, *item) -> None:
        try:
            self._loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the event loop is gone: nobody listens any more
            self._stopped.set()

    def _send(self, message: dict) -> None:
        self._emit("message", dumps(message))

    def _wait_delivered(self) -> None:
        while not self._stopped.is_set() and not self._delivered.acquire(timeout=_POLL_S):
            pass

    def _wait_if_paused(self, epoch: int) -> None:
        """Block while paused; a pause longer than the idle limit stops the training."""
        if self._running.is_set():
            return
        self._send({"type": "paused", "reason": "pause", "epoch": epoch, "detail": "paused by the client"})
        if not self._running.wait(self._idle_timeout_s):
            self._send(error_message(f"training stopped after {self._idle_timeout_s:g} s paused, to free the server"))
            self._stopped.set()
            return
        if not self._stopped.is_set():
            self._send({"type": "resumed", "epoch": epoch})

    def _work(self) -> None:
        try:
            run = self.run = TrainingRun(self._config)
            self._send(run.meta())
            epochs, last = run.trainer.epochs(), None
            active, since = 0.0, time.perf_counter()     # wall time spent training and sending, pauses excluded
            while not self._stopped.is_set():
                record = next(epochs, None)
                if record is None:
                    break
                last = record
                self._emit("epoch", dumps(run.epoch_message(record, active + time.perf_counter() - since)))
                self._wait_delivered()
                if not self._running.is_set():
                    active += time.perf_counter() - since
                    self._wait_if_paused(record.epoch)
                    since = time.perf_counter()
            if run.trainer.epochs_done:
                TRAINED.put(run.trained_config(), run.net)
            reason = "diverged" if run.trainer.diverged else (
                "finished" if run.trainer.epochs_done >= run.trainer.options.epochs else "stopped")
            self.finished = True
            self._send(run.done_message(reason, last))
        except Exception as exc:  # an engine failure is reported to the client, never raised
            self.finished = True
            self._send(error_message(f"the training failed: {type(exc).__name__}: {exc}"))
        finally:
            self._slots.release()
            self._emit("end")


class TrainConnection(MessageConnection):
    """The state of one /ws/train socket: its current (or last) training."""

    MESSAGE_TYPES = MESSAGE_TYPES

    def __init__(self, send_text, slots: StreamSlots, idle_timeout_s: float) -> None:
        self._raw_send = send_text
        self._send_lock = asyncio.Lock()
        self._slots = slots
        self._idle_timeout_s = idle_timeout_s
        self.worker: TrainingWorker | None = None
        self._pump: asyncio.Task | None = None

    async def send_text(self, text: str) -> None:
        """Send one message (the pump and the replies share the socket)."""
        async with self._send_lock:
            await self._raw_send(text)

    async def error(self, detail: str, field: str | None = None) -> None:
        """Reply with an error; nothing else changes."""
        await self.send_text(json.dumps(error_message(detail, field)))

    async def close(self) -> None:
        """The socket is gone: stop the training."""
        await self._stop_training()

    @property
    def training(self) -> bool:
        """True while a training runs (until its done message is on its way)."""
        return self.worker is not None and not self.worker.finished and self.worker.thread.is_alive()

    async def _stop_training(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            if self.worker.thread.is_alive():
                await asyncio.to_thread(self.worker.thread.join, _JOIN_TIMEOUT_S)
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()
            try:
                await self._pump
            except (asyncio.CancelledError, Exception):
                pass

    async def _forward(self, worker: TrainingWorker) -> None:
        """Send the worker's messages in order until it ends."""
        while True:
            item = await worker.queue.get()
            if item[0] == "end":
                return
            try:
                await self.send_text(item[1])
            except Exception:  # the client has gone: stop training (the socket handler closes the rest)
                worker.stop()
                return
            if item[0] == "epoch":
                worker.delivered()

    async def _on_start(self, message: StartMessage) -> None:
        try:
            config = resolve_training(resolve_config(message.config or {}))
        except ValidationError as exc:
            await self.error(*first_error(exc))
            return
        except TrainingConfigError as exc:
            await self.error(str(exc), exc.field)
            return
        await self._stop_training()
        self.worker = None
        if not self._slots.try_acquire():
            await self.error(self._slots.busy_detail())
            return
        worker = TrainingWorker(config, self._slots, self._idle_timeout_s)
        self.worker = worker
        self._pump = asyncio.create_task(self._forward(worker))
        worker.start()

    async def _on_pause(self, message: PauseMessage) -> None:
        if not self.training:
            await self.error("no training is running: send start first", "type")
            return
        self.worker.pause()

    async def _on_resume(self, message: ResumeMessage) -> None:
        if not self.training:
            await self.error("no training is running: send start first", "type")
            return
        self.worker.resume()

    async def _on_stop(self, message: StopMessage) -> None:
        if not self.training:
            await self.error("no training is running", "type")
            return
        self.worker.stop()

    async def _on_sample(self, message: SampleMessage) -> None:
        run = None if self.worker is None else self.worker.run
        if run is None:
            await self.error("nothing is trained yet: send start first", "type")
            return
        if not can_sample(run.config):
            await self.error("sampling needs a unidirectional network on the char_lm task", "type")
            return
        try:
            reply = await asyncio.to_thread(sample_text, run.net, run.config, message.length, message.prime,
                                            message.seed, message.temperature)
        except ValueError as exc:
            await self.error(str(exc), "prime")
            return
        await self.send_text(dumps(reply))


@router.websocket("/ws/train")
async def train_socket(websocket: WebSocket) -> None:
    """Receive client messages until the client leaves; then stop the training."""
    await websocket.accept()
    state = websocket.app.state
    await serve_connection(websocket, TrainConnection(websocket.send_text, state.slots, state.stream_idle_s))
