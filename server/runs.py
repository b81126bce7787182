"""From a validated config (or a loaded trace) to the engine objects a route needs.

Nothing here computes: it builds the task's data and the model (server.model_source,
the one place that knows an encoder–decoder), then hands them to the engine (a whole
run for REST, a step-wise run or a trace's replay for the stream).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from unrolled import engine
from unrolled.engine.tasks import TaskData, make_task, task_required_lag
from unrolled.server.config import TraceConfig
from unrolled.server.model_source import DTYPES, ModelSource, build_model
from unrolled.server.wire.messages import meta_message
from unrolled.server.presets import PRESETS_BY_NAME
from unrolled.server.topologies import loaded_meta_extra

def build_task(config: TraceConfig) -> TaskData:
    """The config's built-in data batch."""
    return make_task(config.task, config.seq_len, config.batch_size, config.seed, config.text)


def engine_inputs(config: TraceConfig, task: TaskData) -> tuple[np.ndarray, np.ndarray]:
    """(x, targets) in the network's dtype (class ids stay integers; with an embedding x is the symbol ids)."""
    dtype = DTYPES[config.dtype]
    targets = task.targets if task.loss == "cross_entropy" else task.targets.astype(dtype)
    if config.embedding_size is not None and task.ids is not None:
        return task.ids, targets
    return task.x.astype(dtype), targets


def prepared_run(config: TraceConfig, model: Any = None) -> tuple[ModelSource, TaskData, np.ndarray, np.ndarray]:
    """The config's model (a new seeded one, or `model`), the data it reads and (x, targets) of it."""
    task = build_task(config)
    source = build_model(config, task, model)
    task = source.unroll(task)
    x, targets = engine_inputs(config, task)
    return source, task, x, targets


def compute_trace(config: TraceConfig) -> tuple[Any, TaskData]:
    """Run the whole forward and backward pass at once (the REST trace)."""
    source, task, x, targets = prepared_run(config)
    return judged(source.run(x, targets, task.loss), config, task), task


def judged(trace: Any, config: TraceConfig, task: TaskData) -> Any:
    """`trace` with the lag its diagnosis judges against: the config's `required_lag`, else the task's."""
    if trace is not None and hasattr(trace, "required_lag"):
        trace.required_lag = config.required_lag or task_required_lag(task.name, task.x.shape[0])
    return trace


def wire_segments(stages: Sequence[engine.Segment]) -> list[dict] | None:
    """[{name, start, stop}] of a run's parts when it has more than one (an encoder–decoder), else None."""
    return [seg.as_dict() for seg in stages] if len(stages) > 1 else None


def title_and_story(config: TraceConfig) -> tuple[str, str | None]:
    """The preset's title and story, marked "(modified)" when fields override it;
    else a one-line description of the config."""
    preset = PRESETS_BY_NAME.get(config.preset or "")
    if preset is not None:
        plain = TraceConfig.model_validate({"preset": preset.name, "batch_index": config.batch_index})
        modified = plain.model_dump(exclude={"batch_index"}) != config.model_dump(exclude={"batch_index"})
        return preset.title + (" (modified)" if modified else ""), preset.story
    if config.topology != "chain":   # issue 15's topologies (server.topologies)
        alpha = f", α = {config.alpha}" if config.topology == "jordan" else ""
        return f"{config.topology.replace('_', ' ')} network, hidden {config.hidden_size}, task {config.task}{alpha}", None
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
        # issue 19: "final_state" = one output from each direction's last processed state (engine.readout)
        "readout": getattr(getattr(trace_or_net, "arch", None), "readout", "per_step"),
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
        embedding_size=shaped.input_size if shaped.arch.embedded else None,
        length=None if task.lengths is None else int(task.lengths[config.batch_index]),
        lengths=None if task.lengths is None else [int(n) for n in task.lengths],
    )


def config_source(config: TraceConfig, net: Any = None, title: str | None = None) -> StreamSource:
    """A fresh step-wise run of the config on its task's data: of a new seeded model, or of `net`
    (a trained one, say) under `title` (the preset's story is kept). The meta message's
    ``segments`` say which steps are whose when the model has more than one part."""
    source, task, x, targets = prepared_run(config, net)
    run = source.steps(x, targets, task.loss)
    meta = config_meta(config, task, source.model, run.schedule, title, segments=wire_segments(run.stages))
    meta.update(source.meta_extra())      # the other topologies: the fed value, the tree (server.topologies)
    return StreamSource(meta, iter(run), lambda: judged(run.trace, config, task), run.close, config.batch_index)


def loaded_source(trace: Any, name: str, title: str | None = None) -> StreamSource:
    """A replay of a trace loaded from disk, or recorded from a user's model by `unrolled view
    model.npz --input x.npy` (batch element 0, no labels); ``title`` defaults to "Loaded trace: name"."""
    if isinstance(trace, engine.topologies.TreeTrace):   # issue 15: a recursive network's tree (server.topologies)
        return _loaded_tree_source(trace, title or f"Loaded trace: {name}")
    meta = meta_message(
        config=None,
        trace_shape=trace_shape(trace, trace.T, trace.B, trace.loss_type),
        nodes=list(trace.node_names),
        batch_index=0,
        has_target=np.asarray(trace.mask)[:, 0],
        labels={},
        schedule=trace.schedule,
        title=title or f"Loaded trace: {name}",
        story=None,
        segments=wire_segments(trace.stages),
        embedding_size=trace.input_size if trace.arch.embedded else None,
        length=None if trace.lengths is None else int(trace.lengths[0]),
        lengths=None if trace.lengths is None else [int(n) for n in trace.lengths],
    )
    meta.update(loaded_meta_extra(trace))     # a feedback network's fed value (server.topologies)
    events = trace.events()
    return StreamSource(meta, events, lambda: trace, events.close, 0)


def _loaded_tree_source(trace: Any, title: str) -> StreamSource:
    """A replay of a saved tree (batch element 0): its nodes in post-order are the stream's axis."""
    meta = meta_message(config=None, trace_shape=trace_shape(trace, trace.N, trace.B, trace.loss_type),
                        nodes=list(trace.node_names), batch_index=0, has_target=np.zeros(trace.N, dtype=bool),
                        labels={}, schedule=trace.schedule, title=title, story=None)
    meta.update(loaded_meta_extra(trace))
    events = trace.events()
    return StreamSource(meta, events, lambda: trace, events.close, 0)
