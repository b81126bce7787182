"""The digest of a trace for the page's plots, as plain Python (NaN/Inf kept as floats)."""
from __future__ import annotations

from typing import Protocol

import numpy as np


class TraceView(Protocol):
    """The page-facing facts a summary reads (engine.trace.Trace has them)."""

    loss: float
    loss_t: np.ndarray
    grads: dict[str, np.ndarray]
    grad_contributions: dict[str, np.ndarray]
    gradient_norms: dict[str, np.ndarray]
    jacobian_norms: dict[str, np.ndarray]
    node_names: list[str]
    stages: tuple
    segmented: bool

    def vanishing(self, node: str) -> dict:
        """See Trace.vanishing."""

    def flow_matrix(self, node: str) -> tuple[np.ndarray, np.ndarray]:
        """See Trace.flow_matrix."""


def floats(a) -> list:
    """An array as (nested) Python floats."""
    return np.asarray(a, dtype=np.float64).tolist()


def summarize(trace: TraceView) -> dict:
    """Everything the plots need. Key "grad_norms" (a wire key, kept) is parameter → ‖∂L/∂θ‖;
    "gradient_norms" is node → (T,) batch mean of ‖∂L/∂h_t‖. A chain of several segments (an
    encoder–decoder) adds "segments": [{name, start, stop}]."""
    vanishing = {}
    for node in trace.node_names:
        v = trace.vanishing(node)
        vanishing[node] = {"k": v["k"], "distance": floats(v["distance"]), "norms": floats(v["norms"]),
                           "factor": v["factor"], "bound": v["bound"], "sigma_max": v["sigma_max"]}
    flow = {}
    for node in trace.node_names:
        ks, matrix = trace.flow_matrix(node)
        flow[node] = {"ks": [int(k) for k in ks], "matrix": floats(matrix)}
    with np.errstate(over="ignore", invalid="ignore"):
        param_norms = {n: float(np.linalg.norm(g.astype(np.float64))) for n, g in trace.grads.items()}
    return {
        "loss": float(trace.loss),
        "loss_t": floats(trace.loss_t),
        "gradient_norms": {n: floats(v) for n, v in trace.gradient_norms.items()},
        "jacobian_norms": {n: floats(v) for n, v in trace.jacobian_norms.items()},
        "grad_contributions": {n: floats(v) for n, v in trace.grad_contributions.items()},
        "grad_norms": param_norms,
        "vanishing": vanishing,
        "flow": flow,
        "cell_weights": cell_weights(trace),
        **({"segments": [seg.as_dict() for seg in trace.stages]} if trace.segmented else {}),
    }


def cell_weights(trace: TraceView) -> dict[str, list]:
    """The cell's extra weights by parameter name (Cell.extra_weights, e.g. the peepholes
    weight_peephole_l0 (3, H)): the numbers the page's inspector and step equations show; {} for
    torch's cells."""
    extra = tuple(getattr(getattr(trace, "cell_impl", None), "extra_weights", ()))
    params = getattr(trace, "params", {})
    return {name: floats(value) for name, value in params.items()
            if name.rsplit(".", 1)[-1].rsplit("_l", 1)[0] in extra}
