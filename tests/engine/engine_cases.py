"""Shared configurations of the engine tests: the parity matrix, cached runs, comparison helpers."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from unrolled import engine
from torch_reference import CELLS, Reference, make_targets, random_state_dict, reference_run


@dataclass(frozen=True)
class Config:
    """One network + data configuration of the engine tests."""

    cell: str
    layers: int
    bidirectional: bool
    loss: str
    many_to_one: bool
    T: int = 5
    B: int = 3
    I: int = 3
    H: int = 4
    O: int = 3
    seed: int = 0
    from_state: bool = False      # build with from_state_dict(random_state_dict(...)) instead of random()
    sparse: bool = False          # drop targets at random (b, t) entries and at one whole step

    @property
    def id(self) -> str:
        """Readable pytest id."""
        return (f"{self.cell}-L{self.layers}-{'bi' if self.bidirectional else 'uni'}-{self.loss}-"
                f"{'m2o' if self.many_to_one else 'm2m'}-B{self.B}" + ("-T%d" % self.T if self.T != 5 else "")
                + ("-sparse" if self.sparse else ""))


MATRIX = [Config(cell, layers, bi, loss, m2o)
          for cell, layers, bi, loss, m2o in itertools.product(
              CELLS, (1, 2), (False, True), ("cross_entropy", "mse"), (False, True))]


# edge cases: a single timestep; targets missing at scattered (t, b) entries (batch means over fewer rows)
EDGE = [Config("lstm", 2, True, "cross_entropy", False, T=1),
        Config("gru", 1, True, "mse", False, T=1, B=1),
        Config("rnn_tanh", 2, True, "cross_entropy", False, T=6, B=4, sparse=True, seed=21),
        Config("lstm", 1, True, "mse", False, T=6, B=4, sparse=True, seed=22),
        Config("gru", 2, False, "cross_entropy", False, T=6, B=4, sparse=True, seed=23),
        Config("rnn_relu", 1, True, "mse", False, T=6, B=4, sparse=True, seed=24)]


# deep in the vanishing regime: one loss at the last of 30 steps, so ∂L/∂h decays by many orders of
# magnitude towards t = 0; the per-step comparison must hold at every step
VANISHING = [Config(cell, layers, False, "cross_entropy", True, T=30, B=2, seed=40 + k)
             for k, (cell, layers) in enumerate([("rnn_tanh", 1), ("rnn_tanh", 2), ("rnn_relu", 1),
                                                 ("lstm", 1), ("gru", 2)])]


def random_configs(count: int = 8, seed: int = 2024) -> list[Config]:
    """Seeded random configurations: 1-3 layers, batch 1-4, every cell and loss."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        out.append(Config(cell=CELLS[k % len(CELLS)], layers=int(rng.integers(1, 4)),
                          bidirectional=bool(rng.integers(0, 2)),
                          loss=("cross_entropy", "mse")[int(rng.integers(0, 2))],
                          many_to_one=bool(rng.integers(0, 2)), T=int(rng.integers(2, 7)),
                          B=int(rng.integers(1, 5)), I=int(rng.integers(1, 5)), H=int(rng.integers(2, 6)),
                          O=int(rng.integers(2, 5)), seed=100 + k, from_state=bool(k % 2)))
    return out


def build_net(cfg: Config, dtype=np.float64) -> "engine.Network":
    """The engine network of a configuration."""
    if cfg.from_state:
        state = random_state_dict(cfg.cell, cfg.I, cfg.H, cfg.O, cfg.layers, cfg.bidirectional, cfg.seed)
        return engine.Network.from_state_dict(state, cell=cfg.cell, num_layers=cfg.layers,
                                              bidirectional=cfg.bidirectional, dtype=dtype)
    return engine.Network.random(cell=cfg.cell, input_size=cfg.I, hidden_size=cfg.H, output_size=cfg.O,
                                 num_layers=cfg.layers, bidirectional=cfg.bidirectional, seed=cfg.seed,
                                 dtype=dtype)


def make_data(cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """Seeded inputs (T, B, I) and targets of a configuration."""
    rng = np.random.default_rng(cfg.seed + 1)
    x = rng.normal(size=(cfg.T, cfg.B, cfg.I))
    targets = make_targets(rng, cfg.T, cfg.B, cfg.O, cfg.loss, cfg.many_to_one)
    if cfg.sparse:
        drop = rng.random((cfg.T, cfg.B)) < 0.4
        drop[min(1, cfg.T - 1)] = True
        targets[drop] = -100
    return x, targets


@dataclass
class Case:
    """A configuration run by the engine and by the torch reference."""

    cfg: Config
    net: "engine.Network"
    x: np.ndarray
    targets: np.ndarray
    trace: "engine.Trace"
    ref: Reference


@lru_cache(maxsize=None)
def run_case(cfg: Config) -> Case:
    """Run (and cache) the engine and the reference on one configuration."""
    net = build_net(cfg)
    x, targets = make_data(cfg)
    trace = net.run(x, targets, loss=cfg.loss)
    ref = reference_run(net.state_dict(), cfg.cell, cfg.layers, cfg.bidirectional, x, targets, cfg.loss)
    return Case(cfg, net, x, targets, trace, ref)


ZERO = 1e-300     # a step whose reference is exactly 0 must be (at most) this small on our side


def _same_nonfinite(actual: np.ndarray, expected: np.ndarray) -> bool:
    """NaN at the same places, ±Inf at the same places with the same sign."""
    return (np.array_equal(np.isnan(actual), np.isnan(expected))
            and np.array_equal(np.where(np.isinf(expected), expected, 0), np.where(np.isinf(actual), actual, 0)))


def rel_error(actual, expected) -> float:
    """max|a − e| / max|e| over the finite entries, one scale for the whole array (non-finite entries
    must match, else inf). Only for quantities without a time axis (parameter gradients, scalars)."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape or not _same_nonfinite(actual, expected):
        return float("inf")
    keep = np.isfinite(expected)
    scale = max(float(np.max(np.abs(expected[keep]), initial=0.0)), ZERO)
    return float(np.max(np.abs(actual[keep] - expected[keep]), initial=0.0)) / scale


def step_errors(actual, expected, time_axes: tuple[int, ...] = (0,)) -> np.ndarray:
    """Relative error of every step, each judged against its own scale: for each index along
    `time_axes`, max|a − e| / max|e| over the other axes (finite entries). A step whose reference is
    exactly 0 has error 0 if ours is ≤ ZERO there and inf otherwise. Non-finite entries must match
    (else inf everywhere). A 0-d value is one step."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape or not _same_nonfinite(actual, expected):
        return np.full(max(1, expected.size), np.inf)
    if expected.ndim == 0:
        actual, expected, time_axes = actual[None], expected[None], (0,)
    finite = np.isfinite(expected)
    diff = np.where(finite, np.abs(actual - expected), 0.0)
    size = np.where(finite, np.abs(expected), 0.0)
    ours = np.where(finite, np.abs(actual), 0.0)
    other = tuple(a for a in range(expected.ndim) if a not in time_axes)
    err_t, scale_t = diff.max(axis=other, initial=0.0), size.max(axis=other, initial=0.0)
    ours_t = ours.max(axis=other, initial=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = err_t / scale_t
    return np.where(scale_t > 0, rel, np.where(ours_t <= ZERO, 0.0, np.inf)).ravel()


def assert_rel(actual, expected, what: str, tol: float = 1e-7) -> None:
    """Assert relative agreement against the whole array's scale: only for quantities without a time
    axis (parameter gradients, σ_max, the loss); time-indexed arrays use assert_steps."""
    actual_shape = np.shape(actual)
    expected_shape = np.shape(expected)
    assert actual_shape == expected_shape, f"{what}: shape {actual_shape}, expected {expected_shape}"
    err = rel_error(actual, expected)
    assert err <= tol, (f"{what}: relative error {err:.3e} > {tol:g}\n"
                        f"engine:    {np.asarray(actual).ravel()[:8]}\nreference: {np.asarray(expected).ravel()[:8]}")


def assert_steps(actual, expected, what: str, tol: float = 1e-7, time_axes: tuple[int, ...] = (0,)) -> None:
    """Assert that every step agrees to `tol` of its own scale (step_errors), so a step deep in the
    vanishing regime — 1e-9 below the peak — is checked as strictly as the peak."""
    assert np.shape(actual) == np.shape(expected), f"{what}: shape {np.shape(actual)}, expected {np.shape(expected)}"
    errors = step_errors(actual, expected, time_axes)
    if not errors.size or errors.max() <= tol:
        return
    steps = [np.shape(expected)[a] for a in time_axes] if np.ndim(expected) else [1]
    worst = np.unravel_index(int(np.argmax(errors)), steps if len(errors) == np.prod(steps) else [len(errors)])
    where = ", ".join(str(int(i)) for i in worst)
    raise AssertionError(f"{what}: relative error {errors.max():.3e} > {tol:g} at step {where}\n"
                         f"per step: {np.array2string(errors, precision=2, max_line_width=200)}")


def assert_traces_equal(a, b) -> None:
    """Every recorded array of two traces is identical."""
    assert a.loss == b.loss
    for attr in ("loss_t", "x", "targets", "mask"):
        assert np.array_equal(getattr(a, attr), getattr(b, attr)), attr
    for attr in ("grads", "activations", "gradients", "grad_contributions", "params", "gradient_norms"):
        da, db = getattr(a, attr), getattr(b, attr)
        assert set(da) == set(db), attr
        for key in da:
            assert np.array_equal(da[key], db[key], equal_nan=True), f"{attr}[{key}]"
