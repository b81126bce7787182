"""The one breakpoint rule, used by the server's pacing and by the page's local replay.

A breakpoint is judged on each event's ``norm`` (the engine's batch mean of the L2 norm of the
event's value: ‖h_t‖ going forward, ‖∂L/∂h_t‖ going backward, |L_t| for the loss):

* ``nonfinite`` is crossed by an event of either phase and any node (h-nodes, ``logits``,
  ``loss``) whose norm is NaN, +Inf or -Inf;
* ``grad_below`` (value v) is crossed by a backward event of an h-node (``h_l<k>[_reverse]``)
  whose norm < v; ``grad_above`` (value v) by one whose norm > v. These are plain float
  comparisons: a NaN norm crosses neither, +Inf crosses ``grad_above``. An event marked
  ``padding`` (its step is padding for every batch element; norm 0 by convention) crosses
  neither.

Each breakpoint stops the stream at the FIRST event of each node that crosses it, once per node
per run (a new ``start`` is a new run): resuming does not stop again at the next step of that
node, but the first crossing at another node stops again. So the stream stops at an event when
it is the first crossing, for its node, of at least one breakpoint that is set; the ``paused``
message names the first of those in the order nonfinite, grad_below, grad_above. The cases, as
data that both the server's tests and the page's tests read: tests/fixtures/breakpoints.json.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

KINDS = ("nonfinite", "grad_below", "grad_above")


def crosses(kind: str, value: float | None, phase: str, node: str, norm: float, padding: bool = False) -> bool:
    """True when an event (its phase, node, norm and padding flag) crosses the breakpoint ``kind`` at ``value``."""
    if kind == "nonfinite":
        return not math.isfinite(norm)
    if phase != "backward" or not node.startswith("h_") or value is None or padding:
        return False
    return norm < value if kind == "grad_below" else norm > value


class BreakpointRule:
    """The breakpoints of one run: which (kind, node) pairs have already stopped the stream.

    ``breakpoints`` maps a kind to its value (None for nonfinite); it is read at every event, so
    a breakpoint set or removed mid-run applies from the next event on.
    """

    def __init__(self, breakpoints: Mapping[str, float | None]) -> None:
        self.breakpoints = breakpoints
        self._stopped: set[tuple[str, str]] = set()

    def check(self, phase: str, node: str, t: int, norm: float, padding: bool = False) -> tuple[str, str] | None:
        """(reason, detail) when the stream stops at this event, else None (call it once per event)."""
        first = [kind for kind in KINDS if kind in self.breakpoints and (kind, node) not in self._stopped
                 and crosses(kind, self.breakpoints[kind], phase, node, norm, padding)]
        if not first:
            return None
        self._stopped.update((kind, node) for kind in first)
        return first[0], _detail(first[0], self.breakpoints[first[0]], phase, node, t, norm)


def _detail(kind: str, value: float | None, phase: str, node: str, t: int, norm: float) -> str:
    if kind == "nonfinite":
        return f"non-finite norm ({norm}) at {phase} {node} t={t}"
    where = f"‖∂L/∂h‖ = {norm:.4g} at {node} t={t}"
    return f"{where} < {value:.4g}" if kind == "grad_below" else f"{where} > {value:.4g}"


def stops(breakpoints: Mapping[str, float | None], events: Iterable[Mapping]) -> list[int]:
    """The ``seq`` of every event at which a run of ``events`` ({seq, phase, node, t, norm[, padding]}) stops."""
    rule = BreakpointRule(breakpoints)
    return [e["seq"] for e in events
            if rule.check(e["phase"], e["node"], e["t"], float(e["norm"]), bool(e.get("padding"))) is not None]
