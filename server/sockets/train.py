"""The live-training socket /ws/train (docs/DESIGN.md, "Socket protocol").

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
import threading
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, WebSocket
from pydantic import Field, ValidationError

from unrolled.server.config import TraceConfig, config_model, first_error, resolve_config
from unrolled.server.settings import Settings
from unrolled.server.sockets.connection import ClientGone, ClientMessage, MessageConnection, serve_connection
from unrolled.server.sockets.slots import EngineSlots
from unrolled.server.sockets.worker import POLL_S, ThreadWorker, background, cancel_and_wait, off_loop
from unrolled.server.training import TrainedCache, TrainingRun, can_sample, resolve_training, sample_text
from unrolled.server.wire.messages import error_message
from unrolled.server.wire.serialize import dumps

MAX_SAMPLE_LENGTH = 2000
JOIN_TIMEOUT_S = 10.0      # a stopped worker first finishes the epoch in progress

router = APIRouter()


class StartMessage(ClientMessage):
    """Train a config (replacing the current training)."""

    type: Literal["start"]
    config: dict[str, Any] | None = None


class PauseMessage(ClientMessage):
    """Halt after the epoch in progress."""

    type: Literal["pause"]


class ResumeMessage(ClientMessage):
    """Continue a paused training."""

    type: Literal["resume"]


class StopMessage(ClientMessage):
    """End the training after the epoch in progress (the trained network is kept)."""

    type: Literal["stop"]


class SampleMessage(ClientMessage):
    """Generate text from the current (or finished) char_lm network."""

    type: Literal["sample"]
    length: Annotated[int, Field(ge=1, le=MAX_SAMPLE_LENGTH)] = 200
    prime: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    temperature: Annotated[float, Field(gt=0.0, le=10.0, allow_inf_nan=False)] = 1.0


MESSAGE_TYPES: dict[str, type[ClientMessage]] = {
    "start": StartMessage, "pause": PauseMessage, "resume": ResumeMessage, "stop": StopMessage,
    "sample": SampleMessage,
}


class TrainingWorker(ThreadWorker):
    """One training in a daemon thread; its messages (JSON text) arrive on ``queue`` as ("message", text)
    or ("epoch", text), then ("end",).

    The thread builds the run, sends meta, and after each epoch waits until the client has that
    epoch before training the next one; it honours pause/stop there.
    """

    thread_name = "unrolled-train"

    def __init__(self, config: TraceConfig, slots: EngineSlots, idle_timeout_s: float, trained: TrainedCache) -> None:
        super().__init__(slots)
        self._trained = trained  # where the trained network is kept for /ws/trace's "trained" source
        self.run: TrainingRun | None = None
        self.finished = False           # set before the last message (done or error) is sent
        self._config = config
        self._idle_timeout_s = idle_timeout_s
        self._delivered = threading.Semaphore(0)
        self._running = threading.Event()
        self._running.set()

    def stop(self) -> None:
        """Finish after the epoch in progress."""
        super().stop()
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

    def _send(self, message: dict) -> None:
        self.emit("message", dumps(message))

    def _wait_delivered(self) -> None:
        while not self.stopped and not self._delivered.acquire(timeout=POLL_S):
            pass

    def _wait_if_paused(self, epoch: int) -> None:
        """Block while paused; a pause longer than the idle limit stops the training."""
        if self._running.is_set():
            return
        self._send({"type": "paused", "reason": "pause", "epoch": epoch, "detail": "paused by the client"})
        if not self._running.wait(self._idle_timeout_s):
            self._send(error_message(f"training stopped after {self._idle_timeout_s:g} s paused, to free the server"))
            self.stop()
            return
        if not self.stopped:
            self._send({"type": "resumed", "epoch": epoch})

    def failure(self, exc: Exception) -> list[tuple]:
        """The training failed: an error message (the socket stays usable)."""
        self.finished = True
        return [("message", dumps(error_message(f"the training failed: {type(exc).__name__}: {exc}")))]

    def work(self) -> None:
        """Train epoch by epoch, one epoch ahead of the client at most; then the done message."""
        run = self.run = TrainingRun(self._config)
        self._send(run.meta())
        epochs, last = run.trainer.epochs(), None
        active, since = 0.0, time.perf_counter()     # wall time spent training and sending, pauses excluded
        while not self.stopped:
            record = next(epochs, None)
            if record is None:
                break
            last = record
            self.emit("epoch", dumps(run.epoch_message(record, active + time.perf_counter() - since)))
            self._wait_delivered()
            if not self._running.is_set():
                active += time.perf_counter() - since
                self._wait_if_paused(record.epoch)
                since = time.perf_counter()
        if run.trainer.epochs_done:
            self._trained.put(run.trained_config(), run.net)
        reason = "diverged" if run.trainer.diverged else (
            "finished" if run.trainer.epochs_done >= run.trainer.options.epochs else "stopped")
        self.finished = True
        self.emit_final("message", dumps(run.done_message(reason, last)))


class TrainConnection(MessageConnection):
    """The state of one /ws/train socket: its current (or last) training."""

    MESSAGE_TYPES = MESSAGE_TYPES

    def __init__(self, send_text, settings: Settings, slots: EngineSlots, trained: TrainedCache) -> None:
        super().__init__(send_text, settings.max_message_bytes)
        self._config_model = config_model(settings)
        self._slots = slots
        self._trained = trained
        self._idle_timeout_s = settings.stream_idle_s
        self.worker: TrainingWorker | None = None
        self._pump: asyncio.Task | None = None

    def abandon(self) -> None:
        """The socket is gone: stop the training (its thread ends after the epoch in progress, unwaited)."""
        if self.worker is not None:
            self.worker.stop()
        if self._pump is not None:
            self._pump.cancel()

    @property
    def training(self) -> bool:
        """True while a training runs (until its done message is on its way)."""
        return self.worker is not None and not self.worker.finished and self.worker.thread.is_alive()

    async def _stop_training(self) -> None:
        """Stop the training and wait until its thread has freed its slot (a new start needs one)."""
        if self.worker is not None:
            self.worker.stop()
            await self.worker.join(JOIN_TIMEOUT_S)
        await cancel_and_wait(self._pump)

    async def _forward(self, worker: TrainingWorker) -> None:
        """Send the worker's messages in order until it ends."""
        while True:
            item = await worker.queue.get()
            if item[0] == "end":
                return
            try:
                await self.send_text(item[1])
            except ClientGone:  # stop training (the socket handler closes the rest)
                worker.stop()
                return
            if item[0] == "epoch":
                worker.delivered()

    async def _on_start(self, message: StartMessage) -> None:
        try:
            config = resolve_training(resolve_config(message.config or {}, self._config_model))
        except ValidationError as exc:
            await self.error(*first_error(exc))
            return
        await self._stop_training()
        self.worker = None
        if not self._slots.try_acquire():
            await self.error(self._slots.busy_detail())
            return
        worker = TrainingWorker(config, self._slots, self._idle_timeout_s, self._trained)
        self.worker = worker
        self._pump = background(self._forward(worker), "training pump")
        worker.start()

    async def _running(self) -> TrainingWorker | None:
        """The training in progress, or None after replying that there is none."""
        if not self.training:
            await self.error("no training is running: send start first", "type")
            return None
        return self.worker

    async def _on_pause(self, message: PauseMessage) -> None:
        if worker := await self._running():
            worker.pause()

    async def _on_resume(self, message: ResumeMessage) -> None:
        if worker := await self._running():
            worker.resume()

    async def _on_stop(self, message: StopMessage) -> None:
        if worker := await self._running():
            worker.stop()

    async def _on_sample(self, message: SampleMessage) -> None:
        run = None if self.worker is None else self.worker.run
        if run is None:
            await self.error("nothing is trained yet: send start first", "type")
            return
        if not can_sample(run.config):
            await self.error("sampling needs a unidirectional network on the char_lm task", "type")
            return
        try:
            reply = await off_loop(sample_text, run.net, run.config, message.length, message.prime,
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
    await serve_connection(websocket, TrainConnection(websocket.send_text, state.settings, state.slots, state.trained))
