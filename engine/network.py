"""The user-facing model: a stack of recurrent layers (optionally bidirectional) and a linear head."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from .cells import get_cell
from .chain import Chain, window_chain
from .losses import check_reduction, check_targets
from .params import Architecture, ArchitectureFacts, infer_architecture, random_state, validate_state
from .readout import FINAL_STATE, check_readout, per_step_targets, sequence_targets
from .recorder import StepRun
from .state_prefixes import strip_prefixes
from .trace import Trace

DTYPES = (np.float64, np.float32)


class Network(ArchitectureFacts):
    """An RNN / LSTM / GRU network with torch's parameter names, and a head `o_t = V h_t + c`.

    Build it with `Network.random(...)` or `Network.from_state_dict(...)`; `run` records a full
    Trace, `steps` does the same one cell step at a time.
    """

    batch_first = False          # run/steps take x (B, T, …) and targets (B, T, …); set by from_torch / from_onnx
    onnx_signature = None        # from_onnx: the graph's inputs (engine.onnx_import.OnnxSignature)

    def __init__(self, arch: Architecture, state: Mapping[str, np.ndarray], dtype=np.float64) -> None:
        dtype = np.dtype(dtype)
        if dtype not in [np.dtype(d) for d in DTYPES]:
            raise ValueError(f"dtype must be float64 or float32; got {dtype}")
        if arch.num_layers < 1 or min(arch.input_size, arch.hidden_size, arch.output_size) < 1:
            raise ValueError("num_layers, input_size, hidden_size and output_size must all be ≥ 1")
        get_cell(arch.cell)                                  # ValueError for an unknown cell
        self.arch = arch
        self.dtype = dtype
        self._params = validate_state(dict(state), arch, dtype)

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def random(cls, cell: str, input_size: int, hidden_size: int, output_size: int, num_layers: int = 1,
               bidirectional: bool = False, seed: int = 0, recurrent_scale: float | None = None,
               forget_bias: float = 0.0, dtype=np.float64, vocab_size: int | None = None,
               readout: str = "per_step", reverse_layers: tuple[int, ...] = ()) -> "Network":
        """A freshly initialised network (torch's U(−1/√H, 1/√H)). `recurrent_scale` makes every H×H
        block of W_hh a random orthogonal matrix times that scale (its spectral radius); `forget_bias`
        is added to the forget-gate rows of bias_ih (cells with a forget gate: the LSTM). `vocab_size`
        puts an embedding table `embedding.weight` (V, input_size), N(0, 1) like torch's, in front of
        the first layer: x is then token ids. `readout="final_state"`: the head reads
        cat(h_n[-2], h_n[-1]), one output per sequence (engine.readout). `reverse_layers` (a unidirectional
        network) lists the layers that run only in reverse, from the last step back (ONNX's
        direction="reverse"; node h_l{k}_reverse)."""
        get_cell(cell)
        if vocab_size is not None and (isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer))
                                       or vocab_size < 1):
            raise ValueError(f"vocab_size must be a whole number ≥ 1 or None; got {vocab_size!r}")
        arch = Architecture(cell, int(input_size), int(hidden_size), int(output_size), int(num_layers),
                            bool(bidirectional), None if vocab_size is None else int(vocab_size),
                            check_readout(readout), tuple(reverse_layers))
        if min(arch.input_size, arch.hidden_size, arch.output_size, arch.num_layers) < 1:
            raise ValueError("num_layers, input_size, hidden_size and output_size must all be ≥ 1")
        if recurrent_scale is not None and not (np.isfinite(recurrent_scale) and recurrent_scale >= 0):
            raise ValueError(f"recurrent_scale must be a finite number ≥ 0; got {recurrent_scale}")
        return cls(arch, random_state(arch, seed, recurrent_scale, forget_bias, np.float64), dtype)

    @classmethod
    def from_state_dict(cls, state: Mapping[str, np.ndarray], cell: str, num_layers: int | None = None,
                        bidirectional: bool | None = None, dtype=np.float64, readout: str = "per_step") -> "Network":
        """A network from torch-named weights (plus head.weight / head.bias, and `embedding.weight`
        (V, input_size) for a network reading token ids); sizes are read off the arrays. A whole
        model's state dict with its modules' prefixes (`rnn.weight_ih_l0`, `fc.weight`, `emb.weight`)
        is read by engine.state_prefixes's rule. `readout` as in `random`. ValueError naming any
        missing, extra, mis-shaped or non-finite parameter."""
        state = {k: np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v) for k, v in state.items()}
        state = strip_prefixes(state)
        arch = infer_architecture(state, cell, num_layers, bidirectional)
        return cls(replace(arch, readout=check_readout(readout)), state, dtype)

    # -- from_torch / from_onnx (engine/torch_import.py, engine/onnx_import.py) -------------------
    @classmethod
    def from_torch(cls, module, head=None, embedding=None, dtype=np.float64, readout: str = "per_step") -> "Network":
        """A network with the weights of a torch.nn.RNN / LSTM / GRU (any batch_first, num_layers,
        bidirectional) or a one-layer nn.RNNCell / LSTMCell / GRUCell, an optional nn.Linear head
        (without one, o_t = h_t) and an optional nn.Embedding in front. It remembers the module's
        batch_first: `run` then takes x (B, T, ·) and targets (B, T[, O]) as the module does (the
        trace stays time-first). Dropout between layers is a training-time device: a warning says
        the engine computes the eval-mode network. `readout="final_state"` says the head reads
        cat(h_n[-2], h_n[-1]) (the many-to-one classifier). torch is needed only to have made the modules."""
        from .torch_import import state_from_torch
        src = state_from_torch(module, head, embedding)
        net = cls.from_state_dict(src.state, cell=src.cell, num_layers=src.num_layers,
                                  bidirectional=src.bidirectional, dtype=dtype, readout=readout)
        net.batch_first = src.batch_first
        return net

    @classmethod
    def from_onnx(cls, model, dtype=np.float64, max_bytes: int | None = None) -> "Network":
        """A network from an ONNX model (a path, the file's bytes or an onnx.ModelProto): an optional
        Gather embedding, RNN / GRU / LSTM nodes and an optional MatMul+Add or Gemm head (docs/DESIGN.md,
        "ONNX models"). The file is parsed, never executed; ValueError naming the node and attribute
        (or op type) of anything not read; ImportError saying what to install without `onnx`.
        `net.onnx_signature` says which graph inputs are the sequence (and its layout, remembered as
        `batch_first`), the lengths and the initial states (engine.onnx_feeds.run_arguments maps them)."""
        from .onnx_graph import MAX_BYTES
        from .onnx_import import read_onnx
        src = read_onnx(model, MAX_BYTES if max_bytes is None else max_bytes)
        net = cls.from_state_dict(src.state, cell=src.cell, num_layers=src.num_layers,
                                  bidirectional=src.bidirectional, dtype=dtype, readout=src.readout)
        net.batch_first = src.signature.batch_first
        net.onnx_signature = src.signature
        return net

    def _time_first(self, x, targets):
        """x and targets from a batch-first source's layout, (B, T, …), to the engine's (T, B, …)."""
        x = np.asarray(x)
        if x.ndim == (2 if self.arch.embedded else 3):
            x = np.swapaxes(x, 0, 1)
            if targets is not None and np.ndim(targets) >= 2:
                targets = np.swapaxes(np.asarray(targets), 0, 1)
        return x, targets
    # -- end of from_torch / from_onnx -------------------------------------------------------------

    @classmethod
    def from_npz(cls, path, cell: str, num_layers: int | None = None, bidirectional: bool | None = None,
                 dtype=np.float64) -> "Network":
        """A network from a .npz of a torch-named state dict (np.savez(path, **state)); never unpickles."""
        try:
            with np.load(path, allow_pickle=False) as data:
                state = {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError) as exc:
            raise ValueError(f"cannot read a state dict from {path}: {exc}") from exc
        return cls.from_state_dict(state, cell=cell, num_layers=num_layers, bidirectional=bidirectional, dtype=dtype)


    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter, torch-named."""
        return {k: v.copy() for k, v in self._params.items()}

    def with_state(self, state: Mapping[str, np.ndarray]) -> "Network":
        """The same architecture, dtype and input layout with the parameters `state`."""
        net = Network(self.arch, state, self.dtype)
        net.batch_first, net.onnx_signature = self.batch_first, self.onnx_signature
        return net

    # -- running -----------------------------------------------------------------------------
    def steps(self, x, targets, loss: str = "cross_entropy", initial_state=None, final_state_grads=None,
              recurrent_gradient: bool = True, truncate: int | None = None, lengths=None,
              loss_reduction: str = "step_mean", output_grads=None) -> StepRun:
        """Run one cell step at a time: iterate the result for Events (forward steps in time order,
        then backward steps in reverse); its `.trace` is set once every step has run. Options as in `run`."""
        x, targets = self.check_inputs(x, targets, loss)
        T, B = x.shape[:2]
        return StepRun(self.arch, self.state_dict(), x, targets, loss,
                       self._check_states(initial_state, B, "initial_state"),
                       final_state_grads=self._check_states(final_state_grads, B, "final_state_grads"),
                       chain=self._chain(T, recurrent_gradient, truncate), lengths=check_lengths(lengths, T, B),
                       dtype=self.dtype, loss_reduction=check_reduction(loss_reduction),
                       output_grads=self._output_grads(output_grads, x, lengths))

    def run(self, x, targets, loss: str = "cross_entropy", initial_state=None, final_state_grads=None,
            recurrent_gradient: bool = True, truncate: int | None = None, contributions: bool = True,
            lengths=None, loss_reduction: str = "step_mean", output_grads=None) -> Trace:
        """Forward and BPTT over the whole sequence, recording everything (docs/DESIGN.md, section "Trace contract").

        `initial_state` (optional) maps node names to h(−1) of shape (B, H) — "h_l0", "h_l1_reverse",
        and "c_l0" … for an LSTM's cell state; missing entries are zeros. The trace then also holds
        `initial_state_grads`, ∂L/∂h(−1) (and ∂L/∂c(−1)) per node, which is how a gradient crosses
        from a decoder into its encoder, or from one truncated-BPTT window into the previous one.

        `final_state_grads` (same keys) is a gradient arriving from outside at each node's last
        processed state — what a decoder sends back into its encoder. `recurrent_gradient=False`
        stops BPTT at every step (Elman's context units: h_{t−1} is treated as an input);
        `truncate=k` back-propagates only inside windows of k steps (truncated BPTT(k, k) with the
        weights held fixed: the gradient of a window's losses stops at the window's first step).
        `contributions=False` skips the per-step contribution norms (grad_contributions stays empty):
        a training loop needs only the gradients.

        With `vocab_size`, x is token ids (T, B) (or (T,)). `lengths` (B,) ints in [1, T] marks a
        padded batch: element b's steps t ≥ lengths[b] are padding — they record zeros, carry no loss,
        and the reverse direction of b starts at t = lengths[b] − 1 from its initial state (torch's
        pack_padded_sequence); `final_state_grads` arrive at each element's last processed state.

        `loss_reduction` weights the loss terms as torch's `reduction=` does (engine.losses):
        "step_mean" (Σ_t of the mean over the step's targets), "token_mean" (the mean over all the
        run's targets) or "sum". With readout="final_state" the targets are one per sequence, (B,)
        class ids or (B, O) for mse (or per step with one target per sequence).

        `output_grads` (T, B, D·H) is a gradient arriving from outside at the top layer's outputs (time
        first, like the trace): what an outer head and loss send back (engine.torch_model); it is added
        to the head's own. Without an embedding, `trace.input_grads` holds ∂L/∂x_t (T, B, I)."""
        x, targets = self.check_inputs(x, targets, loss)
        T, B = x.shape[:2]
        return StepRun(self.arch, self.state_dict(), x, targets, loss,
                       self._check_states(initial_state, B, "initial_state"), emit=False,
                       final_state_grads=self._check_states(final_state_grads, B, "final_state_grads"),
                       contributions=contributions, chain=self._chain(T, recurrent_gradient, truncate),
                       lengths=check_lengths(lengths, T, B), dtype=self.dtype,
                       loss_reduction=check_reduction(loss_reduction),
                       output_grads=self._output_grads(output_grads, x, lengths)).run_to_end()

    # -- issue 21: a gradient from an outer head (engine/external_grads.py) --
    def _output_grads(self, output_grads, x: np.ndarray, lengths) -> np.ndarray | None:
        """`output_grads` checked against x's (T, B) and the top layer's width, zeros at padding."""
        from .external_grads import check_output_grads
        T, B = x.shape[:2]
        valid = None if lengths is None else np.arange(T)[:, None] < check_lengths(lengths, T, B)[None, :]
        return check_output_grads(output_grads, T, B, self.directions * self.hidden_size, self.dtype, valid)
    # -- end issue 21 --

    def _chain(self, T: int, recurrent_gradient: bool, truncate: int | None) -> Chain | None:
        """The run's chain of segments (engine.chain): one segment, or truncate's k-step windows handing
        on detached (one-step windows for Elman's context units); None for the plain one."""
        if not recurrent_gradient:
            return window_chain(T, 1)
        if truncate is None:
            return None
        if isinstance(truncate, bool) or not isinstance(truncate, (int, np.integer)) or truncate < 1:
            raise ValueError(f"truncate must be a whole number of steps ≥ 1; got {truncate!r}")
        if self.arch.reads_future:
            raise ValueError("truncate needs a unidirectional forward network (a reverse direction reads the future)")
        return window_chain(T, int(truncate))

    def _check_states(self, states, B: int, what: str) -> dict[str, np.ndarray]:
        """Validate a node → (B, H) mapping (initial states or gradients at the final states)."""
        if not states:
            return {}
        allowed = {state + n[1:] for state in self.cell_impl.states for n in self.node_names}
        out = {}
        for name, value in states.items():
            if name not in allowed:
                raise ValueError(f"{what} has unknown entry {name!r}; allowed: {', '.join(sorted(allowed))}")
            value = np.array(value, dtype=self.dtype, copy=True)
            if value.shape == (self.hidden_size,) and B == 1:
                value = value[None]
            if value.shape != (B, self.hidden_size):
                raise ValueError(f"{what}[{name!r}] has shape {value.shape}, expected {(B, self.hidden_size)}")
            if not np.isfinite(value).all():
                raise ValueError(f"{what}[{name!r}] contains NaN or Inf")
            out[name] = value
        return out

    def check_inputs(self, x, targets, loss: str) -> tuple[np.ndarray, np.ndarray]:
        """x as (T, B, I) in the network's dtype (token ids (T, B) int64 with an embedding) and targets
        checked for `loss` (ValueError naming the problem); a batch-first network reads (B, T, …) first."""
        given = np.shape(x)                                 # errors name the shape the caller passed
        if self.arch.readout == FINAL_STATE and sequence_targets(targets, loss):   # -- final-state readout
            T, B = _time_and_batch(given, self.arch.embedded, self.batch_first)
            targets = targets if T == 0 else per_step_targets(targets, loss, T, B, batch_first=self.batch_first and len(given) > 1 + (not self.arch.embedded))
        if self.batch_first:
            x, targets = self._time_first(x, targets)
        if self.arch.embedded:
            x = check_token_ids(x, int(self.arch.vocab_size), given)
            targets = check_targets(targets, loss, x.shape[0], x.shape[1], self.output_size)
            return x, targets.astype(self.dtype) if loss == "mse" else targets
        x = np.asarray(x)
        if x.ndim == 2 and np.issubdtype(x.dtype, np.integer) and x.shape[-1] != self.input_size:
            raise ValueError(f"x of shape {given} looks like integer token ids, but this network has no embedding: "
                             f"its x is (T, B, {self.input_size}) floats (give it an embedding: vocab_size= / embedding=)")
        if x.ndim == 2:
            x = x[:, None, :]
        if x.ndim != 3 or x.shape[-1] != self.input_size or x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"x must have shape {'(B, T' if self.batch_first else '(T, B'}, {self.input_size}) "
                             f"or (T, {self.input_size}); got {given}")
        if not np.issubdtype(x.dtype, np.number):
            raise ValueError(f"x must be numeric; got dtype {x.dtype}")
        x = np.ascontiguousarray(x, dtype=self.dtype)
        if not np.isfinite(x).all():
            raise ValueError("x contains NaN or Inf: inputs must be finite")
        T, B, _ = x.shape
        targets = check_targets(targets, loss, T, B, self.output_size)
        if loss == "mse":
            targets = targets.astype(self.dtype)
        return x, targets


def check_token_ids(x, vocab_size: int, given: tuple | None = None) -> np.ndarray:
    """Token ids (T, B) (or (T,) for B = 1) as int64; ValueError naming the first id that is not a
    whole number in [0, vocab_size). `given`: the shape the caller passed (before any layout change)."""
    x = np.asarray(x)
    given = np.shape(x) if given is None else given
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"x must be token ids of shape (T, B) or (T,) for a network with an embedding; "
                         f"got shape {given}")
    if x.dtype == bool or not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"x must be integer token ids; got dtype {x.dtype}")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(x) | (x != np.round(x)) | (x < 0) | (x >= vocab_size) if x.dtype.kind == "f" \
            else (x < 0) | (x >= vocab_size)
    if bad.any():
        t, b = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"x holds token id {x[t, b]!r} at (t={t}, b={b}); ids must be whole numbers in "
                         f"[0, {vocab_size})")
    return np.ascontiguousarray(x, dtype=np.int64)


def _time_and_batch(shape: tuple, embedded: bool, batch_first: bool) -> tuple[int, int]:
    """(T, B) of x of `shape` in the caller's layout ((0, 0) when it is no x shape; check_inputs says why)."""
    full = 2 if embedded else 3
    if len(shape) == full:
        return (shape[1], shape[0]) if batch_first else (shape[0], shape[1])
    return (shape[0], 1) if len(shape) == full - 1 else (0, 0)


def check_lengths(lengths, T: int, B: int) -> np.ndarray | None:
    """`lengths` (B,) as int64, each in [1, T]; None stays None (no padding). ValueError naming `lengths`."""
    if lengths is None:
        return None
    arr = np.asarray(lengths)
    if arr.ndim == 0 and B == 1:
        arr = arr[None]
    if arr.shape != (B,):
        raise ValueError(f"lengths must have shape (B,) = ({B},); got {arr.shape}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"lengths must be whole numbers in [1, {T}]; got dtype {arr.dtype}")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(arr) | (arr != np.round(arr)) | (arr < 1) | (arr > T)
    if bad.any():
        b = int(np.flatnonzero(bad)[0])
        raise ValueError(f"lengths must be whole numbers in [1, {T}] (T); lengths[{b}] = {arr[b]!r}")
    return arr.astype(np.int64)
