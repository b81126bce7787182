"""The comparison the parity tests use sees errors in the vanishing regime.

A whole-array relative error divides by the array's largest entry, so an error at a step whose
gradient has decayed 1e-9 below the peak is invisible; `assert_steps` judges each step against
its own scale.
"""
from __future__ import annotations

import numpy as np
import pytest

from unrolled import engine
from engine_cases import assert_steps, rel_error, step_errors


def vanishing_run() -> np.ndarray:
    """∂L/∂h (T, B, H) of a 30-step tanh RNN with one loss at the last step: it decays ~1e-10 by step 7."""
    net = engine.Network.random("rnn_tanh", 3, 4, 4, seed=1)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 4, 3))
    y = np.full((30, 4), -100)
    y[-1] = rng.integers(0, 4, 4)
    return net.run(x, y).gradients["h_l0"]


def test_doubling_the_early_gradient_fails_the_step_check_but_passed_the_old_one():
    """Doubling ∂L/∂h at steps 0–7 of a 30-step tanh run: the old whole-array check passed it."""
    dh = vanishing_run()
    wrong = dh.copy()
    wrong[:8] *= 2
    assert rel_error(wrong, dh) < 1e-7                      # what assert_rel (and the parity tests) used to see
    assert step_errors(wrong, dh)[:8] == pytest.approx(1.0)  # each of those steps is 100 % wrong
    with pytest.raises(AssertionError, match="at step 0"):
        assert_steps(wrong, dh, "dL/dh")
    assert_steps(dh, dh.copy(), "dL/dh")


def test_a_small_error_at_each_step_passes_and_a_large_one_fails():
    """1e-9 of every step's own scale passes 1e-7; 1e-6 of a vanished step's scale does not."""
    dh = vanishing_run()
    scale = np.abs(dh).max(axis=(1, 2), keepdims=True)
    assert_steps(dh + 1e-9 * scale, dh, "dL/dh")
    wrong = dh.copy()
    wrong[3] += 1e-6 * scale[3]
    with pytest.raises(AssertionError, match="at step 3"):
        assert_steps(wrong, dh, "dL/dh")


def test_steps_whose_reference_is_zero_must_be_zero():
    """A step that is exactly 0 in the reference (no loss there) must be 0 on our side too."""
    ref = np.array([[1.0, 2.0], [0.0, 0.0], [3.0, 4.0]])
    assert_steps(ref.copy(), ref, "loss_t")
    tiny = ref.copy()
    tiny[1, 0] = 1e-200
    with pytest.raises(AssertionError, match="at step 1"):
        assert_steps(tiny, ref, "loss_t")


def test_other_time_axes_and_non_finite_entries():
    """A flow matrix (k, t) is judged entry by entry with time_axes=(0, 1); NaN must match NaN."""
    ref = np.array([[1.0, 1e-12], [np.nan, 2.0]])
    assert_steps(ref.copy(), ref, "flow", time_axes=(0, 1))
    wrong = ref.copy()
    wrong[0, 1] *= 1.01
    with pytest.raises(AssertionError, match="at step 0, 1"):
        assert_steps(wrong, ref, "flow", time_axes=(0, 1))
    assert_steps(wrong, ref, "flow", time_axes=(0,))           # per row k, the 1e-12 entry is below tolerance
    with pytest.raises(AssertionError):
        assert_steps(np.zeros_like(ref), ref, "flow", time_axes=(0, 1))
