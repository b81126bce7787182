"""Any torch model around its RNN, replayed exactly (issue 21): `from_torch_model(model, inputs, targets,
loss_fn)` runs the user's model once with hooks on its recurrent module, captures what the recurrence
really reads (its input after any embedding or dropout, its initial states) and the gradient that the
model's own head and loss send back to its outputs and final states, then replays the recurrence in
the engine with `output_grads` / `final_state_grads`.

torch is imported only inside these functions: `import engine` works without it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .network import Network
from .trace import Trace

SEQUENCE_MODULES = ("RNN", "LSTM", "GRU")
CELL_MODULES = ("RNNCell", "LSTMCell", "GRUCell")


@dataclass
class TorchReplay:
    """The engine's replay of a torch model's recurrence: the network (the RNN's weights, an identity
    head), the trace (whose `loss` is the user's own loss value) and the captured run arguments."""

    net: Network
    trace: Trace
    loss: float
    x: np.ndarray                                  # (T, B, I) what the recurrence read, time first
    lengths: np.ndarray | None = None              # (B,) of a packed batch
    initial_state: dict[str, np.ndarray] = field(default_factory=dict)
    output_grads: np.ndarray | None = None         # (T, B, D·H) ∂L/∂(RNN outputs) from the model's head and loss
    final_state_grads: dict[str, np.ndarray] = field(default_factory=dict)


def from_torch_model(model: Any, inputs: Any, targets: Any, loss_fn: Any, rnn: Any = None,
                     dtype=np.float64) -> TorchReplay:
    """Replay the recurrence inside a torch model: `loss_fn(model(inputs), targets)` (inputs a tensor or
    a tuple of positional arguments; targets None calls `loss_fn(output)`) is run once with hooks on
    `rnn` (default: the model's only nn.RNN / LSTM / GRU, or its only nn.RNNCell / LSTMCell / GRUCell,
    whose calls in a Python loop are replayed as a one-layer sequence). The engine then records the
    whole recurrence, including ∂L/∂x_t (`trace.input_grads`) for whatever sits in front of it.
    ValueError naming what cannot be replayed exactly (a state changed between cell calls, dropout
    between layers while training, a projection, several recurrent modules without `rnn=`)."""
    import torch
    rnn = rnn if rnn is not None else _find_recurrent(model)
    kind = type(rnn).__name__
    if kind not in SEQUENCE_MODULES + CELL_MODULES:
        raise ValueError(f"rnn must be a torch.nn.{', '.join(SEQUENCE_MODULES + CELL_MODULES)}; got {kind}")
    if kind in SEQUENCE_MODULES and rnn.training and rnn.num_layers > 1 and rnn.dropout:
        raise ValueError(f"{kind}(dropout={rnn.dropout}) drops between layers while training and cannot be "
                         "replayed exactly: call model.eval() first")
    recorder = _CellCalls() if kind in CELL_MODULES else _SequenceCall()
    handles = recorder.attach(rnn)
    try:
        output = model(*inputs) if isinstance(inputs, tuple) else model(inputs)
        loss = loss_fn(output) if targets is None else loss_fn(output, targets)
    finally:
        for h in handles:
            h.remove()
    if not torch.is_tensor(loss) or loss.numel() != 1:
        raise ValueError("loss_fn must return a scalar tensor")
    if not recorder.calls:
        raise ValueError(f"the model never called its {kind}")
    tensors = recorder.differentiable()
    grads = torch.autograd.grad(loss, tensors, allow_unused=True)
    grads = [np.zeros(tuple(t.shape)) if g is None else g.detach().cpu().double().numpy()
             for t, g in zip(tensors, grads)]
    args = recorder.run_arguments(grads)
    net = Network.from_torch(rnn, dtype=dtype)
    net.batch_first = False                        # the captured tensors are handed over time first
    T, B = args["x"].shape[:2]
    no_targets = np.full((T, B, net.output_size), -100.0)   # the loss is the model's own: none from the engine's head
    trace = net.run(args["x"], no_targets, loss="mse", lengths=args.get("lengths"),
                    initial_state=args["initial_state"], final_state_grads=args["final_state_grads"],
                    output_grads=args["output_grads"])
    trace.loss = float(loss.detach())
    return TorchReplay(net, trace, trace.loss, args["x"], args.get("lengths"), args["initial_state"],
                       args["output_grads"], args["final_state_grads"])


def _find_recurrent(model: Any) -> Any:
    """The model's one recurrent module (sequence modules first, else cell modules)."""
    for kinds in (SEQUENCE_MODULES, CELL_MODULES):
        found = [m for m in model.modules() if type(m).__name__ in kinds]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ValueError(f"the model has {len(found)} recurrent modules ({', '.join(type(m).__name__ for m in found)}); "
                             "name the one to replay with rnn=")
    raise ValueError("the model has no torch.nn.RNN / LSTM / GRU / RNNCell / LSTMCell / GRUCell")


def _np(t: Any) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def _state_names(prefix: str, layers: int, directions: int) -> list[str]:
    """torch's (layers·directions) state order as engine node names: h_l0, h_l0_reverse, h_l1, …"""
    return [f"{prefix}_l{k}{'_reverse' if d else ''}" for k in range(layers) for d in range(directions)]


class _SequenceCall:
    """Hooks on an nn.RNN / LSTM / GRU: its one call's input, initial states and outputs."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def attach(self, module: Any) -> list:
        self.module = module

        def hook(mod, args, kwargs, output):
            seq = args[0] if args else kwargs["input"]
            hx = args[1] if len(args) > 1 else kwargs.get("hx")
            self.calls.append((seq, hx, output))
        return [module.register_forward_hook(hook, with_kwargs=True)]

    def differentiable(self) -> list:
        """The tensors whose gradient the model's head and loss define: outputs, h_n (and c_n)."""
        if len(self.calls) > 1:
            raise ValueError(f"the model calls its {type(self.module).__name__} {len(self.calls)} times; "
                             "the replay needs one call")
        _, _, output = self.calls[0]
        out, state = output
        out = out.data if type(out).__name__ == "PackedSequence" else out
        states = list(state) if isinstance(state, tuple) else [state]
        return [out] + states

    def run_arguments(self, grads: list[np.ndarray]) -> dict:
        """x, lengths, initial_state, output_grads and final_state_grads for `Network.run`, time first."""
        from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence
        import torch
        m = self.module
        seq, hx, output = self.calls[0]
        D = 2 if m.bidirectional else 1
        lengths = None
        if isinstance(seq, PackedSequence):
            padded, lens = pad_packed_sequence(seq)
            x, lengths = _np(padded), lens.numpy().astype(np.int64)
            out = output[0]
            g = PackedSequence(torch.as_tensor(grads[0]), out.batch_sizes, out.sorted_indices, out.unsorted_indices)
            out_grad = pad_packed_sequence(g, total_length=x.shape[0])[0].numpy()
        else:
            x, out_grad = _np(seq), grads[0]
            unbatched = x.ndim == 2
            if unbatched:
                x, out_grad = x[:, None], out_grad[:, None]
            elif m.batch_first:
                x, out_grad = np.swapaxes(x, 0, 1), np.swapaxes(out_grad, 0, 1)
        names = ["h", "c"] if type(m).__name__ == "LSTM" else ["h"]
        initial: dict[str, np.ndarray] = {}
        if hx is not None:
            for prefix, value in zip(names, hx if isinstance(hx, tuple) else (hx,)):
                initial.update(_by_node(prefix, _np(value), m.num_layers, D))
        final: dict[str, np.ndarray] = {}
        for prefix, value in zip(names, grads[1:]):
            final.update(_by_node(prefix, value, m.num_layers, D))
        return {"x": np.ascontiguousarray(x), "lengths": lengths, "initial_state": initial,
                "output_grads": np.ascontiguousarray(out_grad), "final_state_grads": final}


def _by_node(prefix: str, value: np.ndarray, layers: int, directions: int) -> dict[str, np.ndarray]:
    """A (layers·directions, B, H) state (or (layers·directions, H) unbatched) split by node."""
    if value.ndim == 2:
        value = value[:, None]
    return dict(zip(_state_names(prefix, layers, directions), value))


class _CellCalls:
    """Hooks on an nn.RNNCell / LSTMCell / GRUCell called in a loop: each call is one step. Each call's
    outputs are handed on as leaf copies and the state a call reads is swapped for a detached copy,
    so the gradient captured at each output is only what the model's head and loss send there (the
    engine computes the recurrence's share itself)."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def attach(self, module: Any) -> list:
        self.module = module
        self.lstm = type(module).__name__ == "LSTMCell"

        def pre(mod, args, kwargs):
            x = args[0] if args else kwargs["input"]
            hx = args[1] if len(args) > 1 else kwargs.get("hx")
            step = len(self.calls)
            if step:
                self._check_continues(hx, step)
            call = {"x": x, "hx": hx}
            self.calls.append(call)
            if hx is None:
                return None
            detached = tuple(s.detach().requires_grad_(s.requires_grad) for s in hx) if self.lstm \
                else hx.detach().requires_grad_(hx.requires_grad)
            return (x, detached), {}

        def post(mod, args, output):
            # the model goes on with leaf copies: the gradient each one receives is then only the model's
            # (for an LSTMCell, c_t's is not mixed with the part that reaches it through h_t = o⊙tanh(c_t))
            leaves = tuple(s.detach().requires_grad_() for s in output) if self.lstm \
                else output.detach().requires_grad_()
            self.calls[-1]["out"] = leaves
            return leaves
        return [module.register_forward_pre_hook(pre, with_kwargs=True), module.register_forward_hook(post)]

    def _check_continues(self, hx: Any, step: int) -> None:
        """The state call `step` reads must be what call step−1 returned, unchanged."""
        prev = self.calls[-1]["out"]
        same = hx is not None and (all(a is b for a, b in zip(hx, prev)) if self.lstm else hx is prev)
        if not same:
            raise ValueError(f"the state passed to {type(self.module).__name__} call {step} is not the one call "
                             f"{step - 1} returned (the loop changes it between steps): not a plain recurrence "
                             "the engine can replay")

    def differentiable(self) -> list:
        """Every call's outputs: h_t (and c_t)."""
        out = []
        for call in self.calls:
            out += list(call["out"]) if self.lstm else [call["out"]]
        return out

    def run_arguments(self, grads: list[np.ndarray]) -> dict:
        """The calls as one one-layer sequence, time first."""
        per = 2 if self.lstm else 1
        xs = [_np(c["x"]) for c in self.calls]
        x = np.stack([v[None] if v.ndim == 1 else v for v in xs])            # (T, B, I)
        dh = np.stack([g if g.ndim == 2 else g[None] for g in grads[0::per]])
        initial: dict[str, np.ndarray] = {}
        hx = self.calls[0]["hx"]
        if hx is not None:
            for prefix, value in zip(("h", "c"), hx if self.lstm else (hx,)):
                v = _np(value)
                initial[f"{prefix}_l0"] = v if v.ndim == 2 else v[None]
        final: dict[str, np.ndarray] = {}
        if self.lstm:
            dc = [g if g.ndim == 2 else g[None] for g in grads[1::2]]
            late = [t for t, g in enumerate(dc[:-1]) if np.any(g)]
            if late:
                raise ValueError(f"the model reads the cell state c_t outside the recurrence at step {late[0]}; "
                                 "the engine takes gradients only at h_t and at the last state")
            final["c_l0"] = dc[-1]
        return {"x": x, "initial_state": initial, "output_grads": dh, "final_state_grads": final}
