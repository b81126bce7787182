"""From a validated config (or a loaded trace) to the engine objects a route needs.

Nothing here computes: it builds the task's data and the network, then hands
them to the engine (``Network.run`` for REST, ``Network.steps`` or
``engine.replay`` for the stream).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from unrolled import engine
from unrolled.engine.tasks import TaskData, make_task, with_fed_back_inputs
from unrolled.server.config import TraceConfig
from unrolled.server.wire.messages import meta_message
from unrolled.server.presets import PRESETS_BY_NAME

DTYPES = {"float64": np.float64, "float32": np.float32}


def build_task(config: TraceConfig) -> TaskData:
    """The config's built-in data batch."""
    return make_task(config.task, config.seq_len, config.batch_size, config.seed, config.text)


def network_sizes(config: TraceConfig, task: TaskData) -> dict:
    """The keyword arguments of Network.random / Seq2Seq.random a config and its task set."""
    return {
        "cell": config.cell, "input_size": task.input_size, "hidden_size": config.hidden_size,
        "output_size": task.output_size, "num_layers": config.num_layers, "seed": config.seed,
        "recurrent_scale": config.recurrent_scale,
        "forget_bias": config.forget_bias if config.cell == "lstm" else 0.0, "dtype": DTYPES[config.dtype],
    }


def build_network(config: TraceConfig, task: TaskData) -> Any:
    """A seeded random network sized for the task."""
    return engine.Network.random(bidirectional=config.bidirectional, **network_sizes(config, task))


def build_seq2seq(config: TraceConfig, task: TaskData) -> engine.Seq2Seq:
    """A seeded random encoder–decoder sized for an encoder–decoder task (both read its symbols + <go>)."""
    return engine.Seq2Seq.random(**network_sizes(config, task))


def run_seq2seq(config: TraceConfig, task: TaskData, model: Any = None) -> tuple[engine.JoinedSeq2SeqTrace, TaskData]:
    """The whole encoder–decoder run on the task's joined time axis (of a new seeded model, or of
    `model`, a trained one), and the data it read (the decoder's own outputs when free running)."""
    model = model if model is not None else build_seq2seq(config, task)
    task = unrolled_task(config, task, model)
    x, targets = engine_inputs(config, task)
    return engine.run_joined(model, x, targets, task.encoder_steps, task.loss), task


def engine_inputs(config: TraceConfig, task: TaskData) -> tuple[np.ndarray, np.ndarray]:
    """(x, targets) in the network's dtype (class ids stay integers)."""
    dtype = DTYPES[config.dtype]
    targets = task.targets if task.loss == "cross_entropy" else task.targets.astype(dtype)
    return task.x.astype(dtype), targets


def unrolled_task(config: TraceConfig, task: TaskData, net: Any) -> TaskData:
    """The data the trace reads: the task itself (teacher forcing), or — free running — the task's
    first input followed by the network's own argmax outputs fed back (engine.free_run; for an
    encoder–decoder, the encoder's input, then <go> and the decoder's own outputs)."""
    if config.unroll != "free_running":
        return task
    if config.seq2seq:   # encode, then decode from <go> feeding the decoder's outputs back
        T_in, dtype = task.encoder_steps, DTYPES[config.dtype]
        x_dec, tokens = net.free_run(task.x[:T_in].astype(dtype), task.x[T_in].astype(dtype), task.x.shape[0] - T_in)
        return with_fed_back_inputs(task, np.concatenate([task.x[:T_in], x_dec]), tokens, start=T_in)
    first = task.x[0].astype(DTYPES[config.dtype])
    x, tokens = engine.free_run(net, first, task.x.shape[0], mode="argmax")
    return with_fed_back_inputs(task, x, tokens)


def engine_options(config: TraceConfig) -> dict:
    """The keyword options of Network.run / Network.steps a config sets."""
    return {"truncate": config.tbptt, "recurrent_gradient": config.recurrent_gradient}


def compute_trace(config: TraceConfig) -> tuple[Any, TaskData]:
    """Run the whole forward and backward pass at once (the REST trace)."""
    task = build_task(config)
    if config.seq2seq:
        return run_seq2seq(config, task)
    net = build_network(config, task)
    task = unrolled_task(config, task, net)
    x, targets = engine_inputs(config, task)
    return net.run(x, targets, loss=task.loss, **engine_options(config)), task


def title_and_story(config: TraceConfig) -> tuple[str, str | None]:
    """The preset's title and story, marked "(modified)" when fields override it;
    else a one-line description of the config."""
    preset = PRESETS_BY_NAME.get(config.preset or "")
    if preset is not None:
        plain = TraceConfig.model_validate({"preset": preset.name, "batch_index": config.batch_index})
        modified = plain.model_dump(exclude={"batch_index"}) != config.model_dump(exclude={"batch_index"})
        return preset.title + (" (modified)" if modified else ""), preset.story
    layers = f"{config.num_layers}-layer " if config.num_layers > 1 else ""
    bi = "bidirectional " if config.bidirectional else ""
    return f"{layers}{bi}{config.cell}, hidden {config.hidden_size}, task {config.task}, T={config.seq_len}", None


def trace_shape(trace_or_net: Any, T: int, B: int, loss: str) -> dict:
    """The shape facts the meta message carries, from a network or a trace."""
    return {
        "T": T, "batch_size": B, "loss": loss, "cell": trace_or_net.cell,
        "num_layers": trace_or_net.num_layers, "directions": trace_or_net.directions,
        "hidden_size": trace_or_net.hidden_size, "input_size": trace_or_net.input_size,
        "output_size": trace_or_net.output_size,
    }


@dataclass
class StreamSource:
    """What a stream plays: its meta message, the engine's events, and the finished trace."""

    meta: dict
    events: Iterator[Any]
    finished_trace: Callable[[], Any]
    close: Callable[[], None]
    batch_index: int


def config_meta(config: TraceConfig, task: TaskData, shaped: Any, schedule: dict, title: str | None,
                segments: list[dict] | None = None) -> dict:
    """The meta message of a config's run: `shaped` (a network or a trace) gives the shapes, `task` the
    labels and targets of the streamed batch element; `title` defaults to the preset's."""
    default_title, story = title_and_story(config)
    return meta_message(
        config=config.model_dump(),
        trace_shape=trace_shape(shaped, task.x.shape[0], task.x.shape[1], task.loss),
        nodes=list(shaped.node_names),
        batch_index=config.batch_index,
        has_target=task.has_target[:, config.batch_index],
        labels=task.labels_for(config.batch_index),
        schedule=schedule,
        title=title or default_title,
        story=story,
        segments=segments,
    )


def config_source(config: TraceConfig, net: Any = None, title: str | None = None) -> StreamSource:
    """A fresh step-wise run of the config on its task's data: of a new seeded network, or of `net`
    (a trained one, say) under `title` (the preset's story is kept)."""
    task = build_task(config)
    if config.seq2seq:
        return seq2seq_source(config, task, net, title)
    net = net if net is not None else build_network(config, task)
    task = unrolled_task(config, task, net)
    x, targets = engine_inputs(config, task)
    run = net.steps(x, targets, loss=task.loss, **engine_options(config))
    schedule = engine.plain_schedule(task.x.shape[0], net.num_layers, net.directions)
    meta = config_meta(config, task, net, schedule, title)
    return StreamSource(meta, iter(run), lambda: run.trace, run.close, config.batch_index)


def seq2seq_source(config: TraceConfig, task: TaskData, model: Any = None, title: str | None = None) -> StreamSource:
    """An encoder–decoder run (of a new seeded model, or of `model` under `title`), computed whole,
    then played step by step on one time axis; the meta message's ``segments`` say which steps are
    the encoder's and which the decoder's."""
    trace, task = run_seq2seq(config, task, model)
    meta = config_meta(config, task, trace, trace.schedule, title, segments=trace.segments)
    events = trace.events()
    return StreamSource(meta, events, lambda: trace, events.close, config.batch_index)


def loaded_source(trace: Any, name: str, title: str | None = None) -> StreamSource:
    """A replay of a trace loaded from disk, or recorded from a user's model by `unrolled view
    model.npz --input x.npy` (batch element 0, no labels); ``title`` defaults to "Loaded trace: name"."""
    meta = meta_message(
        config=None,
        trace_shape=trace_shape(trace, trace.T, trace.B, trace.loss_type),
        nodes=list(trace.node_names),
        batch_index=0,
        has_target=np.asarray(trace.mask)[:, 0],
        labels={},
        schedule=engine.plain_schedule(trace.T, trace.num_layers, trace.directions),
        title=title or f"Loaded trace: {name}",
        story=None,
    )
    events = engine.replay(trace)
    return StreamSource(meta, events, lambda: trace, events.close, 0)
