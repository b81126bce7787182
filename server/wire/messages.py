"""The socket's server → page messages other than ``event`` (see server.wire.events), as JSON-safe
dicts; their fields are in docs/DESIGN.md, "Socket protocol". The summary keeps full precision
(it is small and feeds the plots' fits).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from unrolled import engine
from unrolled.server.wire.serialize import to_jsonable


def meta_message(
    *,
    config: dict | None,
    trace_shape: dict,
    nodes: list[str],
    batch_index: int,
    has_target: np.ndarray,
    labels: dict,
    schedule: dict,
    title: str,
    story: str | None,
    segments: list[dict] | None = None,
    embedding_size: int | None = None,
    length: int | None = None,
    lengths: list[int] | None = None,
) -> dict:
    """The stream's first message: what is coming and how to draw it (``segments`` only for an
    encoder–decoder: which steps are the encoder's and which the decoder's). ``embedding_size`` is the
    width of e_t = E[x_t] when the first layer reads an embedding (its values ride on the layer-0
    events as ``e`` / ``de``), else null; ``length`` the shown element's real steps in a padded batch
    (steps t ≥ length are padding) and ``lengths`` every element's, else null."""
    message = {
        "type": "meta",
        "config": config,
        "T": trace_shape["T"],
        "layers": trace_shape["num_layers"],
        "directions": trace_shape["directions"],
        "cell": trace_shape["cell"],
        "nodes": list(nodes),
        "hidden_size": trace_shape["hidden_size"],
        "input_size": trace_shape["input_size"],
        "output_size": trace_shape["output_size"],
        "batch_size": trace_shape["batch_size"],
        "batch_index": batch_index,
        "loss": trace_shape["loss"],
        "has_target": [bool(v) for v in has_target],
        "input_labels": labels.get("input_labels"),
        "target_labels": labels.get("target_labels"),
        "output_labels": labels.get("output_labels"),
        "total_events": schedule["total"],
        "schedule": schedule,
        "cell_spec": engine.cell_spec(trace_shape["cell"]),
        "title": title,
        "story": story,
        "embedding_size": embedding_size,
        "length": length,
        "lengths": lengths,
        "readout": trace_shape.get("readout", "per_step"),   # issue 19: per_step | final_state
    }
    if segments is not None:
        message["segments"] = segments
    return message


def diagnosis_and_spectra(trace: Any) -> dict:
    """{"diagnosis": [finding dicts, problems first], "spectra": {node: {sigma_max, radius_<gate>}}},
    JSON-safe. A finding is {kind, severity, node, t, title, detail, steps, numbers}."""
    return to_jsonable({
        "diagnosis": [finding.as_dict() for finding in trace.diagnose()],
        "spectra": trace.weight_spectra(),
    })


def summary_message(trace: Any) -> dict:
    """The end-of-stream digest the plots need: the engine's ``Trace.summary()`` at full
    precision plus the diagnosis and the W_hh spectra, non-finite floats as strings."""
    return {"type": "summary", **to_jsonable(trace.summary()), **diagnosis_and_spectra(trace)}


def paused_message(reason: str, seq: int, detail: str) -> dict:
    """The stream stopped: by a breakpoint (its kind) or at the client's request ("pause")."""
    return {"type": "paused", "reason": reason, "seq": seq, "detail": detail}


def error_message(detail: str, field: str | None = None) -> dict:
    """A problem with the client's last message (or the run); the socket stays usable."""
    return {"type": "error", "detail": detail, "field": field}


def queued_message(position: int, slots: int) -> dict:
    """Every slot is busy: the stream starts when its turn comes (1 = next)."""
    return {"type": "queued", "position": position,
            "detail": f"waiting for a free slot: number {position} in the queue "
                      f"(the server runs {slots} traces at once)"}


DONE_MESSAGE = {"type": "done"}
