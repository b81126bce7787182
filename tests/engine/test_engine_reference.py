"""The torch oracle itself: the step-by-step reference equals torch.nn.RNN/LSTM/GRU + Linear.

These tests do not touch the engine; they make the parity tests' oracle trustworthy.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine_cases import assert_steps
from torch_reference import (CELLS, make_targets, node_name, random_state_dict, reference_run,
                             torch_module, valid_rows)

T, B, I, H, O = 5, 3, 3, 4, 3


def _module_run(state, cell, layers, bidirectional, x, targets, loss):
    """Loss, param grads, outputs and final states from torch.nn modules."""
    rnn, head = torch_module(state, cell, layers, bidirectional)
    out, final = rnn(torch.tensor(x))                                   # (T, B, H*D)
    logits = head(out)                                                  # (T, B, O)
    total = logits.sum() * 0.0
    for t in range(T):
        valid = torch.tensor(valid_rows(targets, t, loss))
        if not valid.any():
            continue
        if loss == "cross_entropy":
            total = total + F.cross_entropy(logits[t][valid], torch.tensor(targets[t])[valid])
        else:
            total = total + F.mse_loss(logits[t][valid], torch.tensor(targets[t])[valid])
    total.backward()
    grads = {k: p.grad.numpy() for k, p in rnn.named_parameters()}
    grads.update({f"head.{k}": p.grad.numpy() for k, p in head.named_parameters()})
    h_n = final[0] if cell == "lstm" else final
    c_n = final[1] if cell == "lstm" else None
    return float(total.detach()), grads, out.detach().numpy(), h_n.detach().numpy(), c_n


@pytest.mark.parametrize("many_to_one", [False, True], ids=["m2m", "m2o"])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", CELLS)
def test_reference_matches_torch_nn(cell, layers, bidirectional, loss, many_to_one):
    """Loss, every parameter gradient, outputs and final states agree with torch.nn to 1e-12."""
    rng = np.random.default_rng(7)
    state = random_state_dict(cell, I, H, O, layers, bidirectional, seed=3)
    x = rng.normal(size=(T, B, I))
    targets = make_targets(rng, T, B, O, loss, many_to_one)
    ref = reference_run(state, cell, layers, bidirectional, x, targets, loss,
                        with_jacobians=False, with_flow=False)
    loss_nn, grads_nn, out_nn, h_n, c_n = _module_run(state, cell, layers, bidirectional, x, targets, loss)

    assert ref.loss == pytest.approx(loss_nn, rel=1e-12)
    assert ref.loss == pytest.approx(ref.loss_t.sum(), rel=1e-12)
    assert set(ref.grads) == set(state)
    for name, g in grads_nn.items():
        np.testing.assert_allclose(ref.grads[name], g, rtol=1e-10, atol=1e-13, err_msg=name)
        np.testing.assert_allclose(ref.contributions[name].sum(axis=0), g, rtol=1e-10, atol=1e-13,
                                   err_msg=f"per-step terms of {name}")
    directions = 2 if bidirectional else 1
    top = [ref.activations[node_name(layers - 1, d)] for d in range(directions)]
    np.testing.assert_allclose(np.concatenate(top, axis=-1), out_nn, rtol=1e-12, atol=1e-14)
    assert_steps(np.concatenate(top, axis=-1), out_nn, "top layer's outputs", tol=1e-12)
    for layer in range(layers):
        for d in range(directions):
            last = T - 1 if d == 0 else 0
            node = node_name(layer, d)
            np.testing.assert_allclose(ref.activations[node][last], h_n[layer * directions + d], rtol=1e-12)
            if c_n is not None:
                np.testing.assert_allclose(ref.activations["c" + node[1:]][last],
                                           c_n[layer * directions + d].detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu"])
def test_reference_jacobian_norm_matches_closed_form(cell):
    """For an Elman RNN, ds_t/ds_{t-1} = diag(phi'(z_t)) W_hh; its spectral norm is the reference's."""
    rng = np.random.default_rng(1)
    state = random_state_dict(cell, I, H, O, 1, True, seed=5)
    x = rng.normal(size=(T, B, I))
    ref = reference_run(state, cell, 1, True, x, make_targets(rng, T, B, O, "cross_entropy", False))
    for node, w in (("h_l0", "weight_hh_l0"), ("h_l0_reverse", "weight_hh_l0_reverse")):
        h = ref.activations[node]
        deriv = 1 - h ** 2 if cell == "rnn_tanh" else (h > 0).astype(float)
        expected = np.full(T, np.nan)
        steps = range(1, T) if node == "h_l0" else range(T - 1)
        for t in steps:
            expected[t] = np.mean([np.linalg.norm(deriv[t, b][:, None] * state[w], 2) for b in range(B)])
        np.testing.assert_allclose(ref.jacobian_norms[node], expected, rtol=1e-12, equal_nan=True)


def test_reference_flow_last_row_is_total_gradient_for_many_to_one():
    """With one loss term (many-to-one), ||dL_k/dh_t|| is the norm of the total gradient of h_t."""
    rng = np.random.default_rng(2)
    state = random_state_dict("gru", I, H, O, 2, True, seed=6)
    x = rng.normal(size=(T, B, I))
    ref = reference_run(state, "gru", 2, True, x, make_targets(rng, T, B, O, "cross_entropy", True))
    for node in ref.node_names:
        ks, m = ref.flow[node]
        assert ks.tolist() == [T - 1]
        np.testing.assert_allclose(m[0], np.linalg.norm(ref.gradients[node], axis=-1).mean(axis=1), rtol=1e-12)
