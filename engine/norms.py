"""The one norm the engine reports for a step: the batch mean of the L2 norm of its vector."""
from __future__ import annotations

import numpy as np


def batch_mean_norm(values: np.ndarray) -> np.ndarray:
    """Mean over the batch of ‖v_b‖₂: values (…, B, N) → (…), in values' dtype.

    Used for ‖h_t‖ and ‖∂L/∂h_t‖ of an event, the (T,) gradient-norm profiles, the flow matrix and
    the training epochs' profiles, so every plot and every breakpoint compares the same number.
    NaN/Inf propagate without warnings."""
    values = np.asarray(values)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.sqrt((values * values).sum(axis=-1)).mean(axis=-1)
