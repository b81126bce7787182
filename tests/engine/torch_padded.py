"""The torch float64 oracle for word embeddings and padded batches, unrolled step by step.

Every step is written out with `torch_reference.cell_step` (so every cell the reference knows is
covered); a padded batch follows torch's pack_padded_sequence: element b's step t reads the state of
the step processed before it only if that step is real (else its initial state), and its recorded
state is zero at padding. Every recorded tensor retains its gradient, every parameter is used
through a per-step copy (the per-step contributions), and the embedding is looked up per step in
its own copy of the table. `torch_packed` runs torch.nn.RNN/LSTM/GRU + nn.Embedding on
pack_padded_sequence(enforce_sorted=False) for the standard cells.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import lecture_reference
from torch_reference import NO_TARGET, Reference, cell_step, node_name, param_names, suffix, torch_module, valid_rows


def any_cell_step(cell: str, x: torch.Tensor, prev: tuple, weights: dict[str, torch.Tensor]) -> tuple[tuple, dict]:
    """One step of any registered cell: torch's equations (torch_reference) or the lectures' cells'
    (lecture_reference); `weights` by name without the layer suffix. Returns (new state, gates)."""
    if cell in lecture_reference.NEW_CELLS:
        h, c, gates = lecture_reference.step(cell, x, prev[0], prev[1] if len(prev) > 1 else None, weights)
        return ((h,) if c is None else (h, c)), gates
    return cell_step(cell, x, prev, *(weights[n] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))


def layer_weight_names(state, layer: int, direction: int) -> dict[str, str]:
    """Short name → full name of one layer/direction's parameters (the cell's extra weights included)."""
    s = suffix(layer, direction)
    return {name[:-len(s) - 1]: name for name in state if name.endswith(f"_{s}") and not name.startswith("head")
            and name[:-len(s) - 1] in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_peephole")}
from unrolled import engine


def padded_reference(state: dict[str, np.ndarray], cell: str, num_layers: int, bidirectional: bool, x: np.ndarray,
                     targets: np.ndarray, loss: str, lengths: np.ndarray | None,
                     initial_state: dict[str, np.ndarray] | None = None,
                     final_state_grads: dict[str, np.ndarray] | None = None) -> Reference:
    """Everything the engine records for this run, by torch autograd; `Reference.jacobian_norms` holds
    the initial-state gradients (node → (B, H)) here, and `flow` the flow matrices."""
    T, B = targets.shape[:2]
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    valid = np.arange(T)[:, None] < lengths[None, :]                     # (T, B)
    targets = np.array(targets, copy=True)
    targets[~valid] = NO_TARGET
    states = engine.get_cell(cell).states
    directions = 2 if bidirectional else 1
    params = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for k, v in state.items()}
    copies: dict[str, list] = {k: [None] * T for k in params}
    values: dict[str, list] = {}

    def put(name: str, t: int, tensor: torch.Tensor) -> torch.Tensor:
        tensor.retain_grad()
        values.setdefault(name, [None] * T)[t] = tensor
        return tensor

    def step_copy(name: str, t: int) -> torch.Tensor:
        copy = params[name] * 1.0
        copy.retain_grad()
        copies[name][t] = copy
        return copy

    def mask(t: int) -> torch.Tensor:
        return torch.tensor(valid[t])[:, None]

    if "embedding.weight" in params:
        layer_input = [put("embedding", t, step_copy("embedding.weight", t)[torch.tensor(x[t])]) for t in range(T)]
    else:
        layer_input = [torch.tensor(np.asarray(x[t], dtype=np.float64)) for t in range(T)]
    inits, last_states, steps_of = {}, [], {}
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            s, node = suffix(layer, direction), node_name(layer, direction)
            H = state[f"weight_hh_{s}"].shape[1]
            init = tuple(torch.tensor(np.asarray((initial_state or {}).get(f"{part}_{s}", np.zeros((B, H))),
                                                 dtype=np.float64), requires_grad=True) for part in states)
            inits[s] = init
            recorded: list = [None] * T
            order = list(range(T)) if direction == 0 else list(range(T - 1, -1, -1))
            steps_of[node] = []
            for j, t in enumerate(order):
                p = order[j - 1] if j else None
                prev_real = mask(p) if p is not None else torch.zeros(B, 1, dtype=torch.bool)
                prev = tuple(torch.where(prev_real, recorded[p][i], init[i]) if p is not None else init[i]
                             for i in range(len(states)))
                steps_of[node].append((t, layer_input[t].detach(), tuple(v.detach() for v in prev)))
                new, gates = any_cell_step(cell, layer_input[t], prev, {
                    short: step_copy(full, t) for short, full in layer_weight_names(state, layer, direction).items()})
                zero = torch.zeros_like(new[0])       # the raw step retains the total gradient; padding passes on 0
                recorded[t] = tuple(torch.where(mask(t), put(f"{part}_{s}", t, v), zero) for part, v in zip(states, new))
                for gname, gate in gates.items():
                    put(f"{gname}_{s}", t, gate)
            last = [int(lengths[b] - 1) if direction == 0 else 0 for b in range(B)]
            last_states.append((s, [torch.stack([recorded[last[b]][i][b] for b in range(B)]) for i in range(len(states))]))
            outputs.append([recorded[t][0] for t in range(T)])
        layer_input = [torch.cat([outputs[d][t] for d in range(directions)], dim=1) for t in range(T)]

    losses = []
    for t in range(T):
        logits = put("logits", t, layer_input[t] @ step_copy("head.weight", t).T + step_copy("head.bias", t))
        rows = torch.tensor(valid_rows(targets, t, loss))
        if loss == "cross_entropy":
            probs = put("probs", t, torch.softmax(logits, dim=1))
            y = torch.tensor(np.asarray(targets[t], dtype=np.int64))
            losses.append(F.nll_loss(torch.log(probs[rows]), y[rows]) if rows.any() else probs.sum() * 0.0)
        else:
            y = torch.tensor(np.asarray(targets[t], dtype=np.float64))
            losses.append(F.mse_loss(logits[rows], y[rows]) if rows.any() else logits.sum() * 0.0)
    total = torch.stack(losses).sum()
    outside = total
    for s, parts in last_states:
        for part, value in zip(states, parts):
            g = (final_state_grads or {}).get(f"{part}_{s}")
            if g is not None:
                outside = outside + (value * torch.tensor(g)).sum()
    outside.backward(retain_graph=True)

    def stacked(grad: bool) -> dict[str, np.ndarray]:
        out = {}
        for name, steps in values.items():
            arrays = []
            for tensor in steps:
                if grad:
                    arrays.append(np.zeros(tuple(tensor.shape)) if tensor.grad is None else tensor.grad.numpy().copy())
                else:
                    arrays.append(tensor.detach().numpy().copy())
            out[name] = np.stack(arrays)
            if not grad:
                out[name][~valid] = 0.0                          # padding records zeros
        return out

    ref = Reference(loss=float(total.detach()), loss_t=np.array([float(v.detach()) for v in losses]),
                    grads={k: p.grad.numpy().copy() for k, p in params.items()},
                    contributions={k: np.stack([c.grad.numpy() for c in cs]) for k, cs in copies.items()},
                    activations=stacked(False), gradients=stacked(True),
                    node_names=[node_name(k, d) for k in range(num_layers) for d in range(directions)])
    ref.jacobian_norms = {f"{part}_{s}": init[i].grad.numpy().copy() for s, init in inits.items()
                          for i, part in enumerate(states)}
    ref.flow = _flow(losses, values, ref.node_names, valid)
    ref.steps_of = steps_of
    return ref


def _flow(losses, values, nodes, valid) -> dict[str, np.ndarray]:
    """node → (T, T): row k = mean over the real entries of ‖∂L_k/∂h_t‖ (NaN where none is real)."""
    T = len(losses)
    hs = [values[node][t] for node in nodes for t in range(T)]
    out = {node: np.full((T, T), np.nan) for node in nodes}
    for k in range(T):
        if not losses[k].requires_grad:
            continue
        grads = torch.autograd.grad(losses[k], hs, retain_graph=True, allow_unused=True)
        for i, g in enumerate(grads):
            node, t = nodes[i // T], i % T
            if valid[t].any():
                norms = np.zeros(valid.shape[1]) if g is None else torch.linalg.vector_norm(g, dim=1).numpy()
                out[node][k, t] = norms[valid[t]].mean()
    return out


def jacobian_reference(cell: str, state: dict[str, np.ndarray], node: str, steps, valid: np.ndarray) -> np.ndarray:
    """(T,) mean over the entries whose step t and previous processed step are real of ‖∂s_t/∂s_prev‖₂."""
    s = node[2:]
    layer, direction = int(s[1:].split("_")[0]), int(s.endswith("reverse"))
    weights = {short: torch.tensor(state[full]) for short, full in layer_weight_names(state, layer, direction).items()}
    T = valid.shape[0]
    out = np.full(T, np.nan)
    for j, (t, x_t, prev) in enumerate(steps):
        if j == 0:
            continue
        p = steps[j - 1][0]
        rows = valid[t] & valid[p]
        if not rows.any():
            continue
        H = prev[0].shape[1]

        def step(flat: torch.Tensor) -> torch.Tensor:
            st = tuple(flat[:, i * H:(i + 1) * H] for i in range(len(prev)))
            new, _ = any_cell_step(cell, x_t, st, weights)
            return torch.cat(new, dim=1)

        flat_prev = torch.cat(prev, dim=1)
        jac = torch.autograd.functional.jacobian(step, flat_prev, vectorize=True)
        per = torch.stack([jac[b, :, b, :] for b in range(flat_prev.shape[0])])
        out[t] = float(torch.linalg.matrix_norm(per, ord=2)[torch.tensor(rows)].mean())
    return out


def torch_packed(state: dict[str, np.ndarray], cell: str, num_layers: int, bidirectional: bool, x: np.ndarray,
                 targets: np.ndarray, lengths: np.ndarray | None, initial_state: dict, final_state_grads: dict):
    """torch.nn.RNN/LSTM/GRU (+ nn.Embedding) on pack_padded_sequence(enforce_sorted=False): (padded
    output (T, B, D·H), h_n dict, parameter gradients, initial-state gradients) for a cross-entropy loss
    on pad_packed_sequence's output and the final-state gradients."""
    T, B = targets.shape
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    rnn, head = torch_module({k: v for k, v in state.items() if k != "embedding.weight"}, cell, num_layers,
                             bidirectional)
    if "embedding.weight" in state:
        table = torch.nn.Embedding(*state["embedding.weight"].shape, dtype=torch.float64)
        table.weight.data = torch.tensor(state["embedding.weight"])
        inputs = table(torch.tensor(x))
    else:
        table, inputs = None, torch.tensor(np.asarray(x, dtype=np.float64))
    D = 2 if bidirectional else 1
    states = engine.get_cell(cell).states

    def stack(part: str, source: dict) -> torch.Tensor:
        H = state["weight_hh_l0"].shape[1]
        return torch.stack([torch.tensor(np.asarray(source.get(f"{part}_{suffix(k, d)}", np.zeros((B, H)))))
                            for k in range(num_layers) for d in range(D)])
    h0 = [stack(part, initial_state).requires_grad_(True) for part in states]
    packed = pack_padded_sequence(inputs, torch.tensor(lengths), enforce_sorted=False)
    out, hn = rnn(packed, tuple(h0) if len(h0) > 1 else h0[0])
    out, _ = pad_packed_sequence(out, total_length=T)
    hn = hn if isinstance(hn, tuple) else (hn,)
    logits = head(out)
    y = np.array(targets, copy=True)
    y[np.arange(T)[:, None] >= lengths[None, :]] = NO_TARGET
    loss = sum(F.cross_entropy(logits[t], torch.tensor(y[t]), ignore_index=NO_TARGET)
               for t in range(T) if (y[t] != NO_TARGET).any())
    for part, final in zip(states, hn):
        loss = loss + (final * stack(part, final_state_grads)).sum()
    loss.backward()
    grads = {k: p.grad.numpy() for k, p in rnn.named_parameters()}
    grads["head.weight"], grads["head.bias"] = head.weight.grad.numpy(), head.bias.grad.numpy()
    if table is not None:
        grads["embedding.weight"] = table.weight.grad.numpy()
    names = [f"_{suffix(k, d)}" for k in range(num_layers) for d in range(D)]
    h_n = {f"{part}{n}": final[i].detach().numpy() for part, final in zip(states, hn) for i, n in enumerate(names)}
    init_grads = {f"{part}{n}": g.grad[i].numpy() for part, g in zip(states, h0) for i, n in enumerate(names)}
    return out.detach().numpy(), h_n, grads, init_grads
