"""The lectures' cells (lstm_peephole, lstm_coupled, gru_reset_before) equal an unrolled torch float64
graph written from their equations (lecture_reference.py), and central finite differences.

cell × {1, 2} layers × {uni, bi} × {with initial states and a gradient at the last state, without},
batch 1–3, plus seeded random sizes with 3 layers and batch 4: the loss, every parameter gradient, every activation and its total gradient per timestep
(each step against its own scale), the per-step gradient terms, ∂L/∂s(−1), Jacobian norms and flow.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pytest

import lecture_reference as ref_mod
from engine_cases import assert_rel, assert_steps
from unrolled import engine
from unrolled.engine.gradcheck import compare_numeric


@dataclass(frozen=True)
class Case:
    """One configuration of the matrix."""

    cell: str
    layers: int
    bidirectional: bool
    states: bool            # initial states and final_state_grads given
    B: int
    loss: str
    seed: int
    T: int = 5
    I: int = 3
    H: int = 3
    O: int = 3

    @property
    def id(self) -> str:
        """Readable pytest id."""
        return (f"{self.cell}-L{self.layers}-{'bi' if self.bidirectional else 'uni'}-B{self.B}-{self.loss}"
                + ("-states" if self.states else ""))


CASES = [Case(cell, layers, bi, states, B=1 + k % 3, loss=("cross_entropy", "mse")[k % 2], seed=300 + k)
         for k, (cell, layers, bi, states) in enumerate(
             itertools.product(ref_mod.NEW_CELLS, (1, 2), (False, True), (True, False)))]
MATRIX = list(CASES)
_rng = np.random.default_rng(2026)
CASES += [Case(cell, layers=3, bidirectional=bool(_rng.integers(0, 2)), states=bool(_rng.integers(0, 2)), B=4,
               loss=("cross_entropy", "mse")[k], seed=400 + k, T=int(_rng.integers(2, 7)), I=int(_rng.integers(1, 5)),
               H=int(_rng.integers(2, 6)), O=int(_rng.integers(2, 5)))
          for cell in ref_mod.NEW_CELLS for k in (0, 1)]        # seeded random sizes: 3 layers, batch 4
parametrize = pytest.mark.parametrize("case", CASES, ids=[c.id + f"-T{c.T}H{c.H}" for c in CASES])


def inputs(case: Case):
    """Seeded data, targets (a missing target at step 1), initial states and final-state gradients."""
    rng = np.random.default_rng(case.seed)
    x = rng.normal(size=(case.T, case.B, case.I))
    if case.loss == "cross_entropy":
        y = rng.integers(0, case.O, size=(case.T, case.B))
    else:
        y = rng.normal(size=(case.T, case.B, case.O))
    y[1] = -100
    init, final = {}, {}
    if case.states:
        for k in range(case.layers):
            for d in range(2 if case.bidirectional else 1):
                s = f"_l{k}" + ("_reverse" if d else "")
                for part in ("h", "c") if ref_mod.HAS_C[case.cell] else ("h",):
                    init[part + s] = rng.normal(0, 0.7, (case.B, case.H))
                    final[part + s] = rng.normal(0, 0.3, (case.B, case.H))
    return x, y, init, final


@lru_cache(maxsize=None)
def run(case: Case):
    """(network, trace, reference, data) of a case; odd seeds build from a state dict, even from random()."""
    if case.seed % 2:
        state = ref_mod.random_state(case.cell, case.I, case.H, case.O, case.layers, case.bidirectional, case.seed)
        net = engine.Network.from_state_dict(state, cell=case.cell)        # sizes read off the arrays
    else:
        net = engine.Network.random(cell=case.cell, input_size=case.I, hidden_size=case.H, output_size=case.O,
                                    num_layers=case.layers, bidirectional=case.bidirectional, seed=case.seed)
    x, y, init, final = inputs(case)
    trace = net.run(x, y, loss=case.loss, initial_state=init, final_state_grads=final)
    reference = ref_mod.run(net.state_dict(), case.cell, case.layers, case.bidirectional, x, y, case.loss, init, final)
    return net, trace, reference, (x, y, init, final)


@parametrize
def test_loss_and_parameter_gradients(case):
    """L, L_t and every ∂L/∂θ (the peepholes included) equal torch's."""
    net, trace, ref, _ = run(case)
    assert net.num_layers == case.layers and net.bidirectional == case.bidirectional
    assert_rel(trace.loss, ref.loss, "loss")
    assert_steps(trace.loss_t, ref.loss_t, "loss_t")
    assert set(trace.grads) == set(net.state_dict()) == set(ref.grads)
    for name, grad in ref.grads.items():
        assert_rel(trace.grads[name], grad, f"grads[{name}]")


@parametrize
def test_activations_and_their_total_gradients(case):
    """Every h, c and gate, its total gradient, the logits and probabilities, step by step."""
    _, trace, ref, _ = run(case)
    assert set(trace.activations) == set(ref.activations)
    for name in ref.activations:
        assert_steps(trace.activations[name], ref.activations[name], f"activations[{name}]")
        assert_steps(trace.gradients[name], ref.gradients[name], f"gradients[{name}]")


@parametrize
def test_per_step_contributions_and_initial_state_gradients(case):
    """grad_contributions are the norms of torch's per-step terms; ∂L/∂s(−1) equals the leaves' .grad."""
    _, trace, ref, (_, _, init, _) = run(case)
    for name, terms in ref.terms.items():
        assert_steps(trace.grad_contributions[name], np.linalg.norm(terms.reshape(case.T, -1), axis=1),
                     f"grad_contributions[{name}]")
    for name, grad in ref.initial_state_grads.items():
        assert_rel(trace.initial_state_grads[name], grad, f"initial_state_grads[{name}]")
    assert set(ref.initial_state_grads) == set(init)


@parametrize
def test_jacobian_norms_and_flow(case):
    """‖∂s_t/∂s_{t−1}‖₂ (peephole and coupled terms included) and ‖∂L_k/∂h_t‖ equal torch's."""
    _, trace, ref, _ = run(case)
    for node, expected in ref.jacobian_norms.items():
        assert_steps(trace.jacobian_norms[node], expected, f"jacobian_norms[{node}]")
        ks, matrix = trace.flow_matrix(node)
        assert len(ks) == ref.flow[node].shape[0]
        assert_steps(matrix, ref.flow[node], f"flow_matrix({node})", time_axes=(0, 1))


@pytest.mark.parametrize("case", MATRIX, ids=[c.id for c in MATRIX])
def test_central_finite_differences(case):
    """Every parameter and initial-state gradient against a fourth-order central difference in float64 of
    L + Σ⟨g, s_last⟩ (the objective whose gradient the run reports when final_state_grads are given), over the
    whole matrix. (Not the 3-layer random sizes: with T = 2 some parameters get gradients near 1e-7 of the
    loss, below what a difference of float64 losses resolves; torch checks those to 1e-7 above.)"""
    net, trace, _, (x, y, init, final) = run(case)
    last = {name: trace.activations[name][0 if name.endswith("_reverse") else -1] for name in final}

    def objective(flat):
        state = {k: v for k, v in flat.items() if not k.startswith("init:")}
        states = {k[5:]: v for k, v in flat.items() if k.startswith("init:")}
        tr = engine.Network(net.arch, state).run(x, y, case.loss, initial_state=states)
        return tr.loss + sum(float((final[n] * tr.activations[n][0 if n.endswith("_reverse") else -1]).sum())
                             for n in final)

    flat = {**net.state_dict(), **{f"init:{k}": v.copy() for k, v in init.items()}}
    analytic = {**trace.grads, **{f"init:{k}": v for k, v in trace.initial_state_grads.items()}}
    assert set(last) == set(final)
    worst = compare_numeric(flat, analytic, objective, eps=1e-3)
    assert max(worst.values()) < 1e-6, worst


def test_engine_gradcheck_on_every_new_cell():
    """engine.gradcheck (no states) is tight for the three cells, 2 layers, bidirectional."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(4, 2, 2)), rng.integers(0, 3, size=(4, 2))
    for cell in ref_mod.NEW_CELLS:
        net = engine.Network.random(cell=cell, input_size=2, hidden_size=3, output_size=3, num_layers=2,
                                    bidirectional=True, seed=1)
        worst = engine.gradcheck(net, x, y)
        assert max(worst.values()) < 1e-6, (cell, worst)


def test_gru_reset_before_is_not_torchs_gru():
    """The same weights give other numbers under the two conventions, except where they must agree: with
    h(−1) = 0 and b_hn = 0, r ⊙ (W_hn h + b_hn) and W_hn (r ⊙ h) are both 0 at the first step."""
    state = ref_mod.random_state("gru_reset_before", 3, 4, 2, 1, False, seed=8)
    H = 4
    state["bias_hh_l0"][2 * H:] = 0.0
    x = np.random.default_rng(8).normal(size=(6, 2, 3))
    y = np.zeros((6, 2), dtype=int)
    torch_way = engine.Network.from_state_dict(state, cell="gru").run(x, y)
    lecture_way = engine.Network.from_state_dict(state, cell="gru_reset_before").run(x, y)
    np.testing.assert_allclose(lecture_way.activations["h_l0"][0], torch_way.activations["h_l0"][0], rtol=1e-14)
    later = np.abs(lecture_way.activations["h_l0"][1:] - torch_way.activations["h_l0"][1:]).max(axis=(1, 2))
    assert (later > 1e-3).all(), later
    assert abs(lecture_way.loss - torch_way.loss) > 1e-3


def test_peepholes_start_like_torchs_weights_and_no_torch_module_claims_the_new_cells():
    """random(): weight_peephole is U(−1/√H, 1/√H) like every torch recurrent weight; the new cells have
    no torch module, so nn.LSTM / nn.GRU still read as lstm / gru."""
    import torch

    net = engine.Network.random(cell="lstm_peephole", input_size=3, hidden_size=16, output_size=2, num_layers=2,
                                bidirectional=True, seed=0)
    for name in ("weight_peephole_l0", "weight_peephole_l1_reverse"):
        peep = net.state_dict()[name]
        assert peep.shape == (3, 16) and np.abs(peep).max() <= 0.25 and np.abs(peep).max() > 0.2, name
    lstm, gru = torch.nn.LSTM(3, 4), torch.nn.GRU(3, 4)
    assert engine.cells.cell_of_torch(lstm) == "lstm" and engine.cells.cell_of_torch(gru) == "gru"
    for cell in ref_mod.NEW_CELLS:
        assert engine.get_cell(cell).torch_class == ""
        assert not engine.get_cell(cell).reads_torch(lstm) and not engine.get_cell(cell).reads_torch(gru)


def test_bad_lecture_cell_weights_are_refused_naming_the_parameter():
    """A missing or misshapen peephole, or peepholes handed to a plain LSTM, is a ValueError that names it."""
    state = ref_mod.random_state("lstm_peephole", 3, 4, 2, 1, False, seed=1)
    missing = {k: v for k, v in state.items() if k != "weight_peephole_l0"}
    with pytest.raises(ValueError, match="missing parameter.*weight_peephole_l0"):
        engine.Network.from_state_dict(missing, cell="lstm_peephole")
    with pytest.raises(ValueError, match=r"weight_peephole_l0.*expected \(3, 4\)"):
        engine.Network.from_state_dict({**state, "weight_peephole_l0": np.zeros((4, 4))}, cell="lstm_peephole")
    with pytest.raises(ValueError, match="unexpected parameter.*weight_peephole_l0"):
        engine.Network.from_state_dict(state, cell="lstm")
    with pytest.raises(ValueError, match="weight_ih_l0.*lstm_coupled needs"):
        engine.Network.from_state_dict(missing, cell="lstm_coupled")      # 4·H rows are not 3 blocks
