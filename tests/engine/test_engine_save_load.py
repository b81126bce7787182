"""trace.save / engine.load_trace: a lossless .npz round trip that needs no pickle."""

from __future__ import annotations

import numpy as np
import pytest

from unrolled import engine
from engine_cases import Config, assert_traces_equal, build_net, make_data

SCALARS = ("cell", "num_layers", "bidirectional", "directions", "T", "B", "input_size", "hidden_size",
           "output_size", "loss_type", "loss")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("cfg", [
    Config("lstm", 2, True, "cross_entropy", True),
    Config("gru", 1, False, "mse", False, B=1),
    Config("rnn_relu", 2, False, "cross_entropy", False),
], ids=lambda c: c.id)
def test_round_trip_is_lossless(tmp_path, cfg, dtype):
    """Every attribute survives save/load bit for bit, dtypes included."""
    net = build_net(cfg, dtype=dtype)
    x, targets = make_data(cfg)
    trace = net.run(x.astype(dtype), targets.astype(dtype) if cfg.loss == "mse" else targets, loss=cfg.loss)
    path = tmp_path / "trace.npz"
    trace.save(path)
    loaded = engine.load_trace(path)

    for attr in SCALARS:
        assert getattr(loaded, attr) == getattr(trace, attr), attr
        assert type(getattr(loaded, attr)) is type(getattr(trace, attr)), attr
    assert list(loaded.node_names) == list(trace.node_names)
    assert_traces_equal(loaded, trace)
    for attr in ("activations", "gradients", "grads", "params", "grad_contributions"):
        for key, value in getattr(trace, attr).items():
            assert getattr(loaded, attr)[key].dtype == value.dtype == dtype, f"{attr}[{key}]"
    for node in trace.node_names:
        assert np.array_equal(loaded.jacobian_norms[node], trace.jacobian_norms[node], equal_nan=True)
        ks, m = trace.flow_matrix(node)
        ks2, m2 = loaded.flow_matrix(node)
        assert np.array_equal(ks, ks2) and np.array_equal(m, m2, equal_nan=True)
    assert loaded.summary() == trace.summary() or _same_summary(loaded.summary(), trace.summary())


def _same_summary(a, b) -> bool:
    """Summaries equal, with NaN == NaN."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_summary(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_summary(p, q) for p, q in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return a == b


def test_file_loads_without_pickle(tmp_path):
    """Every array of the file loads with np.load(allow_pickle=False): no object arrays."""
    cfg = Config("gru", 2, True, "cross_entropy", True)
    trace = build_net(cfg).run(*make_data(cfg), loss=cfg.loss)
    path = tmp_path / "t.npz"
    trace.save(path)
    with np.load(path, allow_pickle=False) as data:
        assert len(data.files) > 0
        for name in data.files:
            assert data[name].dtype != object, name


def test_replay_of_a_loaded_trace_matches_steps(tmp_path):
    """A trace loaded from disk streams the same events as the live run."""
    cfg = Config("lstm", 1, True, "mse", False)
    net = build_net(cfg)
    x, targets = make_data(cfg)
    path = tmp_path / "t.npz"
    net.run(x, targets, loss=cfg.loss).save(path)
    replayed = list(engine.replay(engine.load_trace(path)))
    stepped = list(net.steps(x, targets, loss=cfg.loss))
    assert [(e.phase, e.node, e.t) for e in replayed] == [(e.phase, e.node, e.t) for e in stepped]
    for a, b in zip(replayed, stepped):
        for key in b.values:
            assert np.array_equal(a.values[key], b.values[key])


def test_loading_something_else_is_a_value_error(tmp_path):
    """An .npz that is not a trace, or a file that is not an .npz, raises ValueError."""
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(ValueError):
        engine.load_trace(other)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ValueError):
        engine.load_trace(text)
