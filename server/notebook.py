"""`unrolled.show`: the viewer inline in Jupyter, as the exported page (server/export.py) inside an
``<iframe srcdoc>`` — it needs no server and survives in the saved notebook.

Nothing here imports IPython: the returned object has ``_repr_html_``, which Jupyter calls.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from unrolled.server.export import export_trace

DEFAULT_HEIGHT = 900


class Viewer:
    """An exported page shown in an iframe; ``html`` is the page itself (save it to share it)."""

    def __init__(self, page: str, height: int = DEFAULT_HEIGHT) -> None:
        self.html = page
        self.height = height

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" title="Unrolled" '
                f'style="width: 100%; height: {int(self.height)}px; border: 1px solid #ccc; border-radius: 6px"></iframe>')

    def save(self, path: str) -> None:
        """Write the page as a self-contained .html file."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.html)


def _default_loss(targets: Any) -> str:
    return "mse" if np.issubdtype(np.asarray(targets).dtype, np.floating) else "cross_entropy"


def show(trace_or_net: Any, x: Any = None, targets: Any = None, *, loss: str | None = None,
         name: str | None = None, height: int = DEFAULT_HEIGHT) -> Viewer:
    """Show a trace — ``show(trace)`` — or a network run on an input — ``show(net, x, targets)``,
    with ``loss`` defaulting to mse for float targets and cross_entropy for class ids — inline in
    Jupyter: graph, step-through, plots, inspector, replaying the recorded run without a server.
    Raises ValueError for a network given without x and targets."""
    if x is None and targets is None:
        trace = trace_or_net
        if not hasattr(trace, "schedule"):
            raise ValueError("trace_or_net: pass a Trace, or a network with x and targets")
    else:
        if x is None or targets is None:
            raise ValueError("x, targets: a network needs both an input and its targets")
        trace = trace_or_net.run(x, targets, loss=loss or _default_loss(targets))
    label = name or f"{trace.cell}, hidden {trace.hidden_size}, T={trace.T}"
    return Viewer(export_trace(trace, label), height)
