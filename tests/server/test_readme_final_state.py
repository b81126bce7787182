"""The README's walkthrough "A bidirectional classifier on h_n, with a padded batch" stays true: its
Python block runs as written, prints exactly the output the README shows, and the trace it saves opens
with `unrolled view classifier.npz` as a final-state run of batch element 0 (7 real steps of 12)."""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np

from server_helpers import app_settings
from unrolled.server.cli import _parser, _view_target
from unrolled.server.runs import loaded_source

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "### A bidirectional classifier on h_n, with a padded batch"


def walkthrough() -> tuple[str, list[str], list[str]]:
    """(the Python block, the output lines its console block shows, the console block's commands)."""
    section = README.read_text(encoding="utf-8").split(HEADING, 1)[1].split("\n### ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    console = re.search(r"```console\n(.*?)```", section, re.S).group(1).splitlines()
    return code, [line for line in console if not line.startswith("$ ")], [l[2:] for l in console if l.startswith("$ ")]


def test_the_walkthrough_runs_prints_what_the_readme_shows_and_opens_as_a_final_state_run(tmp_path, monkeypatch):
    code, shown, commands = walkthrough()
    assert commands == ["python classifier.py", "unrolled view classifier.npz --open"]
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "classifier.py", "exec"), {"__name__": "__main__"})
    assert out.getvalue().splitlines() == shown

    args = _parser().parse_args(commands[1].split()[1:])
    trace, name = _view_target(args, app_settings())
    assert (name, trace.arch.readout, trace.T, trace.B) == ("classifier.npz", "final_state", 12, 4)
    meta = loaded_source(trace, name).meta
    assert (meta["readout"], meta["length"], meta["directions"]) == ("final_state", 7, 2)
    # what the README says the page shows: ∂L/∂h enters element 0's forward row at t = 6, its reverse row at t = 0
    forward, reverse = trace.gradients["h_l0"][:, 0], trace.gradients["h_l0_reverse"][:, 0]
    assert np.all(forward[7:] == 0) and np.linalg.norm(forward[6]) > 0
    assert np.all(reverse[7:] == 0) and np.linalg.norm(reverse[0]) > 0
    assert np.isnan(trace.activations["logits"][:-1]).all() and np.isfinite(trace.activations["logits"][-1]).all()
