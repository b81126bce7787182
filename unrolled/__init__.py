"""Unrolled: recurrent neural networks unrolled in time, every activation and BPTT gradient.

The distribution installs this one import package:

    from unrolled import engine          # the NumPy engine (repository folder engine/)
    from unrolled.server.app import app  # the FastAPI app (repository folder server/)
    unrolled.show(trace)                 # in Jupyter: the viewer inline (server/notebook.py)

In a checkout the code lives in the top-level folders engine/ and server/; pyproject.toml maps
them here (setuptools package-dir), so the repository and the installed wheel import alike.
"""

from typing import Any


def show(*args: Any, **kwargs: Any) -> Any:
    """``show(trace)`` or ``show(net, x, targets)``: the viewer inline in Jupyter, with no server
    (see unrolled.server.notebook.show; imported only when called, so ``import unrolled`` stays light)."""
    from unrolled.server.notebook import show as notebook_show

    return notebook_show(*args, **kwargs)
