"""Real-looking torch models with their RNN inside something else (issue 21), each with its data and
loss, and a torch float64 oracle of what the engine's replay must match: the RNN's outputs, ∂L/∂(its
input) per timestep and its weight gradients."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

T, B, I, H, V, C = 7, 3, 4, 5, 11, 3


class HnHead(nn.Module):
    """Batch-first stacked LSTM, an MLP on the top layer's h_n."""
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(I, H, num_layers=2, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(H, 6), nn.Tanh(), nn.Linear(6, C))

    def forward(self, x):
        _, (h_n, _) = self.rnn(x)
        return self.mlp(h_n[-1])


class MeanPool(nn.Module):
    """Bidirectional GRU classifier, mean over time."""
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(I, H, bidirectional=True)
        self.head = nn.Linear(2 * H, C)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out.mean(dim=0))


class Attention(nn.Module):
    """tanh RNN with an attention readout over its outputs."""
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(I, H, batch_first=True)
        self.query = nn.Parameter(torch.randn(H))
        self.head = nn.Linear(H, 2)

    def forward(self, x):
        out, _ = self.rnn(x)                              # (B, T, H)
        weights = torch.softmax(out @ self.query, dim=1)  # (B, T)
        return self.head((weights[..., None] * out).sum(1))


class CustomLoss(nn.Module):
    """LSTM whose outputs and final states all feed a custom loss."""
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(I, H)

    def forward(self, x):
        h0 = torch.full((1, x.shape[1], H), 0.1, dtype=x.dtype)
        return self.rnn(x, (h0, -h0))


def custom_loss(output, target):
    out, (h_n, c_n) = output
    return ((out - target) ** 4).mean() + h_n.abs().sum() + 0.3 * (c_n ** 2).sum()


class CharLM(nn.Module):
    """Embedding, dropout, LSTM, a linear layer at every step (next-character prediction)."""
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, I)
        self.drop = nn.Dropout(0.3)
        self.rnn = nn.LSTM(I, H, batch_first=True)
        self.out = nn.Linear(H, V)

    def forward(self, ids):
        out, _ = self.rnn(self.drop(self.emb(ids)))
        return self.out(out)


class Packed(nn.Module):
    """A packed batch of different lengths through a bidirectional GRU, h_n of both directions."""
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(I, H, bidirectional=True, batch_first=True)
        self.head = nn.Linear(2 * H, C)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, h_n = self.rnn(packed)
        padded, _ = pad_packed_sequence(out, batch_first=True)
        return self.head(torch.cat([h_n[0], h_n[1]], -1)) + padded.sum(1)[:, :C]


class CellLoop(nn.Module):
    """An LSTMCell called in a Python loop, a head on every step's h."""
    def __init__(self):
        super().__init__()
        self.cell = nn.LSTMCell(I, H)
        self.head = nn.Linear(H, 2)

    def forward(self, x):
        h = c = torch.zeros(x.shape[1], H, dtype=x.dtype)
        outs = []
        for t in range(x.shape[0]):
            h, c = self.cell(x[t], (h, c))
            outs.append(self.head(h))
        return torch.stack(outs)


class IRNN(nn.Module):
    """Le et al.'s IRNN: ReLU, W_hh = I, a head at every step."""
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(I, H, nonlinearity="relu")
        with torch.no_grad():
            self.rnn.weight_hh_l0.copy_(torch.eye(H))
            self.rnn.bias_hh_l0.zero_()
        self.head = nn.Linear(H, 1)

    def forward(self, x):
        return self.head(self.rnn(x)[0])


def cases() -> dict:
    """name → (model, inputs, targets, loss_fn), float64, seeded, in eval mode."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x_tb = torch.randn(T, B, I, generator=g, dtype=torch.float64)
    x_bt = x_tb.transpose(0, 1).contiguous()
    cls = torch.randint(0, C, (B,), generator=g)
    made = {
        "mlp head on h_n (stacked batch-first LSTM)": (HnHead(), x_bt, cls, F.cross_entropy),
        "mean pooling (bidirectional GRU)": (MeanPool(), x_tb, cls, F.cross_entropy),
        "attention readout (tanh RNN)": (Attention(), x_bt, torch.randn(B, 2, generator=g, dtype=torch.float64),
                                         F.mse_loss),
        "custom loss on outputs and (h_n, c_n)": (CustomLoss(), x_tb, torch.randn(T, B, H, generator=g,
                                                                                  dtype=torch.float64), custom_loss),
        "char LM with an embedding": (CharLM(), torch.randint(0, V, (B, T), generator=g),
                                      torch.randint(0, V, (B, T), generator=g),
                                      lambda o, y: F.cross_entropy(o.reshape(-1, V), y.reshape(-1))),
        "packed batch (bidirectional GRU)": (Packed(), (x_bt, torch.tensor([7, 3, 5])), cls, F.cross_entropy),
        "LSTMCell loop": (CellLoop(), x_tb, torch.randn(T, B, 2, generator=g, dtype=torch.float64), F.mse_loss),
        "exploding IRNN (relu, W_hh = I)": (IRNN(), x_tb.abs(), torch.zeros(T, B, 1, dtype=torch.float64),
                                            F.mse_loss),
    }
    for model, *_ in made.values():
        model.double().eval()
    return made


def torch_oracle(model, inputs, targets, loss_fn, rnn) -> dict:
    """torch autograd's numbers: `outputs` (T, B, D·H) of the RNN, ∂L/∂(RNN input) `dx` (T, B, I), the
    RNN's weight gradients `grads`, the embedding's `demb` when the model has one, and `loss`."""
    seen: dict = {"x": [], "out": []}
    cell = type(rnn).__name__.endswith("Cell")

    def pre(mod, args):
        x = args[0]
        packed = type(x).__name__ == "PackedSequence"
        data = x.data if packed else x
        leaf = data.detach().requires_grad_() if not data.requires_grad else data
        if data.requires_grad:
            data.retain_grad()
        seen["x"].append((leaf, x))
        if packed:
            return (type(x)(leaf, x.batch_sizes, x.sorted_indices, x.unsorted_indices),) + args[1:]
        return (leaf,) + args[1:]

    def post(mod, args, output):
        seen["out"].append(output)
    handles = [rnn.register_forward_pre_hook(pre), rnn.register_forward_hook(post)]
    model.zero_grad()
    try:
        output = model(*inputs) if isinstance(inputs, tuple) else model(inputs)
        loss = loss_fn(output, targets)
        loss.backward()
    finally:
        for h in handles:
            h.remove()
    grads = {name: p.grad.detach().numpy().copy() for name, p in rnn.named_parameters()}
    xs = [leaf.grad.numpy() for leaf, _ in seen["x"]]
    emb = [m for m in model.modules() if isinstance(m, nn.Embedding)]
    if cell:
        dx = np.stack(xs)
        outputs = np.stack([(o[0] if isinstance(o, tuple) else o).detach().numpy() for o in seen["out"]])
    else:
        x0 = seen["x"][0][1]
        out = seen["out"][0][0]
        if type(x0).__name__ == "PackedSequence":
            dx = pad_packed_sequence(type(x0)(torch.as_tensor(xs[0]), x0.batch_sizes, x0.sorted_indices,
                                              x0.unsorted_indices))[0].numpy()
            outputs = pad_packed_sequence(out)[0].detach().numpy()
        else:
            dx, outputs = xs[0], out.detach().numpy()
            if rnn.batch_first:
                dx, outputs = np.swapaxes(dx, 0, 1), np.swapaxes(outputs, 0, 1)
    ids = None
    if emb:                                        # the token ids, time first like the trace
        ids = inputs.numpy().T if getattr(rnn, "batch_first", False) else inputs.numpy()
    return {"loss": float(loss.detach()), "dx": dx, "outputs": outputs, "grads": grads, "ids": ids,
            "demb": emb[0].weight.grad.numpy().copy() if emb else None}


def per_step_error(a: np.ndarray, b: np.ndarray) -> float:
    """max over t of max|a_t − b_t| / max|b_t| (time first); a step where b_t is 0 must have a_t 0."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    diff = np.abs(a - b).reshape(len(a), -1).max(axis=1)
    scale = np.abs(b).reshape(len(b), -1).max(axis=1)
    return float(np.max(np.where(scale > 0, diff / np.where(scale > 0, scale, 1), diff)))


def replay_errors(replay, oracle: dict, rnn) -> dict[str, float]:
    """Per-timestep relative errors of the engine's replay against the oracle: outputs, ∂L/∂x_t,
    the RNN's weight gradients (each its own scale), the embedding's gradient, the loss."""
    tr = replay.trace
    D = tr.directions
    L = tr.num_layers
    top = np.concatenate([tr.activations[f"h_l{L - 1}{'_reverse' if d else ''}"] for d in range(D)], -1)
    errors = {"outputs": per_step_error(top, oracle["outputs"]),
              "dL/dx_t": per_step_error(tr.input_grads, oracle["dx"]),
              "loss": abs(tr.loss - oracle["loss"]) / abs(oracle["loss"])}
    suffix = "_l0" if type(rnn).__name__.endswith("Cell") else ""
    errors["weight grads"] = max(per_step_error(tr.grads[name + suffix][None], g[None])
                                 for name, g in oracle["grads"].items())
    if oracle["demb"] is not None:
        errors["embedding grad"] = embedding_error(replay, oracle)
    return errors


def embedding_error(replay, oracle) -> float:
    """∂L/∂E followed from the replay's ∂L/∂x_t into the table, against torch's."""
    ids = oracle["ids"]
    table = np.zeros_like(oracle["demb"])
    np.add.at(table, ids.reshape(-1), replay.trace.input_grads.reshape(-1, table.shape[1]))
    return per_step_error(table[None], oracle["demb"][None])
