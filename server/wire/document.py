"""The REST trace: a Trace (and the config that made it) as one JSON-safe document."""

from __future__ import annotations

from typing import Any

import numpy as np

from unrolled.engine.tasks import TaskData
from unrolled.server.config import TraceConfig
from unrolled.server.wire.messages import summary_message
from unrolled.server.wire.serialize import to_jsonable


def trace_document(trace: Any, config: TraceConfig | None, task: TaskData | None) -> dict:
    """Every Trace attribute of the trace contract (docs/DESIGN.md, "Trace contract") as nested lists (full precision), plus gradient_norms, the
    summary's quantities (diagnosis and W_hh spectra included), the inputs and the labels;
    non-finite floats as strings. ``config`` and ``task`` are None for an uploaded model."""
    summary = summary_message(trace)  # already JSON-safe
    body = to_jsonable({
        "config": None if config is None else config.model_dump(),
        "cell": trace.cell,
        "num_layers": trace.num_layers,
        "bidirectional": trace.bidirectional,
        "directions": trace.directions,
        "T": trace.T,
        "B": trace.B,
        "input_size": trace.input_size,
        "hidden_size": trace.hidden_size,
        "output_size": trace.output_size,
        "loss_type": trace.loss_type,
        "nodes": list(trace.node_names),
        "loss": float(trace.loss),
        "loss_t": trace.loss_t,
        "grads": trace.grads,
        "activations": trace.activations,
        "gradients": trace.gradients,
        "grad_contributions": trace.grad_contributions,
        "gradient_norms": trace.gradient_norms,
        "x": trace.x,
        "targets": trace.targets,
        "mask": np.asarray(trace.mask, dtype=bool),
        "vocab_size": trace.vocab_size,               # an embedding in front: x is token ids
        "lengths": trace.lengths,                     # a padded batch: element b's steps t ≥ lengths[b] are padding
        "params": trace.params,
        "input_labels": None if task is None else task.input_labels,
        "target_labels": None if task is None else task.target_labels,
        "output_labels": None if task is None else task.output_labels,
    })
    if trace.segmented:   # a model of several parts (an encoder–decoder): which steps are whose
        body["segments"] = [seg.as_dict() for seg in trace.stages]
    for key in ("jacobian_norms", "grad_norms", "vanishing", "flow", "diagnosis", "spectra"):
        body[key] = summary[key]
    return body
