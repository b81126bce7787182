"""The step-wise event generator: counts, order and values equal run()'s trace; replay; close."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from unrolled import engine
from engine_cases import Config, assert_traces_equal, build_net, make_data
from torch_reference import GATE_NAMES, node_name

CONFIGS = [
    Config("rnn_tanh", 1, False, "cross_entropy", False),
    Config("rnn_relu", 2, True, "mse", True),
    Config("lstm", 2, True, "cross_entropy", True),
    Config("lstm", 1, False, "mse", False, B=1),
    Config("gru", 2, False, "cross_entropy", False),
    Config("gru", 3, True, "mse", False, B=2),
    Config("lstm", 2, True, "mse", False, T=1, B=2),
    Config("rnn_tanh", 2, True, "cross_entropy", False, T=6, B=4, sparse=True, seed=41),
]


def expected_order(cfg: Config) -> list[tuple[str, str, int]]:
    """(phase, node, t) of every event, in the order of /tmp/engine_api.md."""
    T, dirs = cfg.T, (2 if cfg.bidirectional else 1)
    forward_times = {0: list(range(T)), 1: list(range(T - 1, -1, -1))}
    out = []
    for layer in range(cfg.layers):
        for d in range(dirs):
            out += [("forward", node_name(layer, d), t) for t in forward_times[d]]
    for t in range(T):
        out += [("forward", "logits", t), ("forward", "loss", t)]
    out += [("backward", "logits", t) for t in range(T - 1, -1, -1)]
    for layer in range(cfg.layers - 1, -1, -1):
        for d in range(dirs):
            out += [("backward", node_name(layer, d), t) for t in reversed(forward_times[d])]
    return out


def expected_values(ev, trace, cfg: Config) -> dict[str, np.ndarray]:
    """What an event's values must be, read from the trace."""
    t = ev.t
    if ev.node == "loss":
        return {"loss": np.asarray(trace.loss_t[t])}
    if ev.node == "logits":
        if ev.phase == "forward":
            keys = ["logits"] + (["probs"] if cfg.loss == "cross_entropy" else [])
            return {k: trace.activations[k][t] for k in keys}
        return {"dlogits": trace.gradients["logits"][t]}
    s = ev.node[2:]
    names = ["h"] + (["c"] if cfg.cell == "lstm" else []) + list(GATE_NAMES[cfg.cell])
    if ev.phase == "forward":
        return {n: trace.activations[f"{n}_{s}"][t] for n in names}
    return {"d" + n: trace.gradients[f"{n}_{s}"][t] for n in names}


def main_norm(ev) -> float:
    """Batch mean L2 norm of the event's main vector (|L_t| for loss)."""
    if ev.node == "loss":
        return abs(float(ev.values["loss"]))
    key = {"forward": "h", "backward": "dh"}[ev.phase]
    if ev.node == "logits":
        key = "logits" if ev.phase == "forward" else "dlogits"
    return float(np.linalg.norm(ev.values[key], axis=-1).mean())


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c.id)
def test_steps_order_and_values_equal_run(cfg):
    """steps() yields the documented events in order, with exactly run()'s numbers."""
    net = build_net(cfg)
    x, targets = make_data(cfg)
    trace = net.run(x, targets, loss=cfg.loss)
    run = net.steps(x, targets, loss=cfg.loss)
    assert run.trace is None
    events = list(run)
    dirs = 2 if cfg.bidirectional else 1
    assert len(events) == 2 * cfg.T * cfg.layers * dirs + 3 * cfg.T
    assert [(e.phase, e.node, e.t) for e in events] == expected_order(cfg)
    for ev in events:
        assert isinstance(ev, engine.Event)
        if ev.node in ("logits", "loss"):
            assert (ev.layer, ev.direction) == (None, 0)
        else:
            assert ev.node == node_name(ev.layer, ev.direction)
        expected = expected_values(ev, trace, cfg)
        assert set(ev.values) == set(expected), (ev.phase, ev.node)
        for key, value in expected.items():
            assert np.array_equal(ev.values[key], value), (ev.phase, ev.node, ev.t, key)
        assert ev.norm == pytest.approx(main_norm(ev), rel=1e-12, abs=1e-300), (ev.phase, ev.node, ev.t)
    assert run.trace is not None
    assert_traces_equal(run.trace, trace)


def test_event_is_frozen():
    """Event is a frozen dataclass."""
    cfg = CONFIGS[0]
    net = build_net(cfg)
    ev = next(iter(net.steps(*make_data(cfg), loss=cfg.loss)))
    assert dataclasses.is_dataclass(ev)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.t = 99


@pytest.mark.parametrize("cfg", CONFIGS[1:3], ids=lambda c: c.id)
def test_replay_yields_what_steps_yields(cfg):
    """engine.replay(trace) reproduces every event of net.steps, values and norms included."""
    net = build_net(cfg)
    x, targets = make_data(cfg)
    stepped = list(net.steps(x, targets, loss=cfg.loss))
    replayed = list(engine.replay(net.run(x, targets, loss=cfg.loss)))
    assert len(replayed) == len(stepped)
    for a, b in zip(replayed, stepped):
        assert (a.phase, a.node, a.t, a.layer, a.direction) == (b.phase, b.node, b.t, b.layer, b.direction)
        assert set(a.values) == set(b.values)
        for key in a.values:
            assert np.array_equal(a.values[key], b.values[key]), (a.phase, a.node, a.t, key)
        assert a.norm == b.norm or (np.isnan(a.norm) and np.isnan(b.norm))


def test_close_early_stops_the_run():
    """close() after a few events ends the iteration and leaves no trace."""
    cfg = CONFIGS[2]
    net = build_net(cfg)
    run = net.steps(*make_data(cfg), loss=cfg.loss)
    it = iter(run)
    first = [next(it) for _ in range(3)]
    assert [e.phase for e in first] == ["forward"] * 3
    run.close()
    assert list(it) == []
    assert run.trace is None
    run.close()  # idempotent


def test_abandoned_run_is_garbage_collected():
    """An unfinished StepRun can simply be dropped."""
    import gc
    import weakref

    cfg = CONFIGS[0]
    net = build_net(cfg)
    run = net.steps(*make_data(cfg), loss=cfg.loss)
    next(iter(run))
    ref = weakref.ref(run)
    del run
    gc.collect()
    assert ref() is None
