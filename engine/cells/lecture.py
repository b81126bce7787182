"""A cell's step in lecture notation: what the page's equations panel and step equations show.

The page fills the templates with the names of the step on screen. A template names them in
braces: {t}, {prev}, {next} (subscripted step numbers), {next_step} (the next step's number as
plain text), {U} and {W} (this step's weights, marked ᴱ/ᴰ in an encoder–decoder), {Wn} (the next
step's W), {input} (x_t, or the layer below). A forward line that is exactly "{gates}" stands for
the gate values of the step, "{state:c}" for the value of state c.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Lecture:
    """The lecture's equations of one cell."""

    panel: str = ""                     # the equations panel's block: MathML and a note (our own markup)
    forward: tuple[str, ...] = ()       # the forward step's lines
    recurrent: str = ""                 # the recurrent term of ∂L/∂h_t (the path back from step t+1)
    state_gradients: dict[str, str] = field(default_factory=dict)    # extra state → its ∂L/∂state_t
    state_recurrences: dict[str, str] = field(default_factory=dict)  # extra state → the term from step t+1

    def to_json(self) -> dict:
        """The step templates the stream's `meta` carries (cell_spec.lecture); the panel is rendered
        into the page by its template instead."""
        data = asdict(self)
        del data["panel"]
        data["forward"] = list(self.forward)
        return data


def generic_lecture(name: str, gates: tuple[str, ...], states: tuple[str, ...]) -> Lecture:
    """The description of a cell that brings no lecture text: its step as a function of the input and
    the previous state, with its gates and extra states."""
    forward = ("h{t} = " + name + "({U} {input}, {W} h{prev})",) + (("{gates}",) if gates else ()) + tuple(
        "{state:" + s + "}" for s in states if s != "h")
    return Lecture(forward=forward, recurrent="(recurrent path through step {next_step})")
