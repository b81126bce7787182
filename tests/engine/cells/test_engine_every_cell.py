"""Every cell of the registry (engine.CELL_TYPES) through the cell-generic engine paths, checked by
identities that need no per-cell code: Jacobians against finite differences of one step, the flow
matrix against runs with a single loss term, events and replay against the trace, truncated BPTT
and Elman's context units against runs cut by hand, the encoder–decoder chain against finite
differences, and training. A cell added to the registry is covered here without touching this file.
"""
from __future__ import annotations

import numpy as np
import pytest

from engine_cases import assert_rel, assert_steps, assert_traces_equal
from unrolled import engine
from unrolled.engine.gradcheck import compare_numeric

CELLS = engine.CELL_TYPES
every_cell = pytest.mark.parametrize("cell", CELLS)


def case(cell: str, layers: int = 1, bidirectional: bool = False, T: int = 5, B: int = 2, seed: int = 0):
    """A small random network, inputs and class targets (one step without a target)."""
    rng = np.random.default_rng(seed + 7)
    net = engine.Network.random(cell=cell, input_size=3, hidden_size=4, output_size=3, num_layers=layers,
                                bidirectional=bidirectional, seed=seed)
    y = rng.integers(0, 3, (T, B))
    y[1] = -100
    return net, rng.normal(size=(T, B, 3)), y


def state_at(trace, node: str, t: int) -> dict[str, np.ndarray]:
    """The recurrent state (h, and c for a cell with a cell state) of layer 0 after step t."""
    return {part + node[1:]: trace.activations[part + node[1:]][t] for part in trace.cell_impl.states}


def test_the_registry_holds_the_lectures_cells():
    """The six built-in cells, in the config's order."""
    assert CELLS == ("rnn_tanh", "rnn_relu", "lstm", "gru", "lstm_peephole", "lstm_coupled", "gru_reset_before")


@every_cell
def test_jacobian_norms_equal_finite_differences_of_one_step(cell):
    """‖∂s_t/∂s_{t−1}‖₂ from Cell.jacobian equals the spectral norm of a central-difference Jacobian
    of a one-step run started from the recorded s_{t−1}."""
    net, x, y = case(cell, B=2)
    trace = net.run(x, y)
    parts = net.cell_impl.states
    H, eps = net.hidden_size, 1e-6
    for t in range(1, x.shape[0]):
        start = state_at(trace, "h_l0", t - 1)
        norms = []
        for b in range(x.shape[1]):
            columns = []
            for part in parts:
                for j in range(H):
                    sides = []
                    for sign in (1, -1):
                        init = {k: v[b:b + 1].copy() for k, v in start.items()}
                        init[f"{part}_l0"][0, j] += sign * eps
                        step = net.run(x[t:t + 1, b:b + 1], y[t:t + 1, b:b + 1], initial_state=init)
                        sides.append(np.concatenate([step.activations[f"{p}_l0"][0, 0] for p in parts]))
                    columns.append((sides[0] - sides[1]) / (2 * eps))
            norms.append(np.linalg.norm(np.stack(columns, axis=1), 2))
        assert trace.jacobian_norms["h_l0"][t] == pytest.approx(np.mean(norms), rel=1e-7), (cell, t)


@every_cell
def test_flow_rows_are_runs_with_one_loss_term(cell):
    """flow_matrix row k = batch mean ‖∂L_k/∂h_t‖ = gradient_norms of a run with targets only at k."""
    net, x, y = case(cell, layers=2, bidirectional=True, B=3)
    trace = net.run(x, y)
    for node in trace.node_names:
        ks, matrix = trace.flow_matrix(node)
        assert list(ks) == [k for k in range(x.shape[0]) if (y[k] != -100).any()]
        for row, k in enumerate(ks):
            only_k = np.full_like(y, -100)
            only_k[k] = y[k]
            assert_steps(matrix[row], net.run(x, only_k).gradient_norms[node], f"{cell} flow row {k} of {node}")


@every_cell
def test_events_equal_the_trace_and_replay(cell):
    """steps() yields the schedule's events (h events carry the cell's states and gates), the trace
    equals run()'s, and replay reproduces every event."""
    net, x, y = case(cell, layers=2, bidirectional=True, B=2)
    stepped = net.steps(x, y)
    events = list(stepped)
    assert len(events) == engine.event_count(x.shape[0], 2, 2)
    spec = engine.cell_spec(cell)
    names = [*spec["states"], *(g["name"] for g in spec["gates"])]
    for ev in events:
        if ev.node.startswith("h_"):
            assert list(ev.values) == (names if ev.phase == "forward" else ["d" + n for n in names]), (cell, ev)
    assert_traces_equal(stepped.trace, net.run(x, y))
    for a, b in zip(events, engine.replay(stepped.trace), strict=True):
        assert (a.phase, a.node, a.t) == (b.phase, b.node, b.t)
        for key in a.values:
            np.testing.assert_array_equal(a.values[key], b.values[key])


@every_cell
def test_truncated_bptt_equals_windows_run_by_hand(cell):
    """truncate=k: the gradients are the sum over k-step windows, each a run from the detached state the
    window before left (the forward pass itself is the full one)."""
    net, x, y = case(cell, T=7, B=2, seed=3)
    k = 3
    truncated = net.run(x, y, truncate=k)
    full = net.run(x, y)
    total = {name: np.zeros_like(g) for name, g in full.grads.items()}
    for start in range(0, 7, k):
        init = state_at(full, "h_l0", start - 1) if start else None
        window = net.run(x[start:start + k], y[start:start + k], initial_state=init)
        for name, g in window.grads.items():
            total[name] += g
    assert truncated.loss == pytest.approx(full.loss, rel=1e-12)
    for name, g in total.items():
        assert_rel(truncated.grads[name], g, f"{cell} truncated grads[{name}]", tol=1e-10)
    assert any(not np.allclose(truncated.grads[n], full.grads[n]) for n in total), "no truncation happened"


@every_cell
def test_elman_context_units_equal_one_step_runs(cell):
    """recurrent_gradient=False: the gradients are the sum of one-step runs from each recorded state."""
    net, x, y = case(cell, T=4, B=2, seed=4)
    context = net.run(x, y, recurrent_gradient=False)
    full = net.run(x, y)
    total = {name: np.zeros_like(g) for name, g in full.grads.items()}
    for t in range(4):
        step = net.run(x[t:t + 1], y[t:t + 1], initial_state=state_at(full, "h_l0", t - 1) if t else None)
        for name, g in step.grads.items():
            total[name] += g
    for name, g in total.items():
        assert_rel(context.grads[name], g, f"{cell} context grads[{name}]", tol=1e-10)


@every_cell
def test_encoder_decoder_chain_gradients_equal_finite_differences(cell):
    """run_joined: the gradients through the context (and the decoder's own weights) match central
    differences of the joined loss."""
    rng = np.random.default_rng(6)
    model = engine.Seq2Seq.random(cell, 4, 3, 3, num_layers=1, seed=2)
    x = rng.standard_normal((6, 2, 4))
    targets = np.full((6, 2), -100)
    targets[3:] = rng.integers(0, 3, (3, 2))
    joined = model.run_joined(x, targets, 3)
    errors = compare_numeric(model.state_dict(), joined.grads,
                             lambda state: engine.Seq2Seq.from_state_dict(state, cell, 1).run_joined(x, targets, 3).loss,
                             eps=1e-3, max_entries=5)
    assert set(errors) == set(model.state_dict()) and max(errors.values()) < 1e-6, errors
    assert joined.flow_matrix("h_l0")[1][:, 0].min() > 0         # every decoder loss reaches the encoder


@every_cell
def test_training_lowers_the_loss(cell):
    """Adam on a small copy-like task: the loss after 40 epochs is below the first epoch's."""
    rng = np.random.default_rng(9)
    x = np.eye(3)[rng.integers(0, 3, (6, 4))]
    y = x.argmax(-1)
    net = engine.Network.random(cell=cell, input_size=3, hidden_size=6, output_size=3, seed=1)
    records = list(engine.Trainer(net, x, y, "cross_entropy", engine.TrainOptions(epochs=40, lr=0.05)).epochs())
    assert records[-1].loss < 0.5 * records[0].loss, (cell, records[0].loss, records[-1].loss)


@every_cell
def test_a_loaded_trace_rebuilds_what_the_analysis_needs(cell, tmp_path):
    """save → load_trace: the cell-private records are rebuilt (Cell.rebuild_extras), so the Jacobian
    norms and the flow of the loaded trace are those of the original."""
    net, x, y = case(cell, layers=2, bidirectional=True, B=2, seed=5)
    trace = net.run(x, y)
    trace.save(tmp_path / "t.npz")
    loaded = engine.load_trace(tmp_path / "t.npz")
    for node in trace.node_names:
        np.testing.assert_allclose(loaded.jacobian_norms[node], trace.jacobian_norms[node], rtol=1e-12)
        np.testing.assert_allclose(loaded.flow_matrix(node)[1], trace.flow_matrix(node)[1], rtol=1e-12)
