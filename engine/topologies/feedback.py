"""Networks whose hidden layer reads what the output side fed back: Jordan networks and recurrence
from the output to the hidden layer (Goodfellow et al., figure 10.4), with or without teacher forcing.

    f_t = fed value:   "memory"  (Jordan)   m_t = α m_{t−1} + ŷ_{t−1},  m_0 = 0,  α fixed (not learned)
                       "teacher" (train)    y_{t−1}: the true previous output (one-hot class, or the mse target)
                       "output"  (test)     ŷ_{t−1}: the model's own previous output
    h_t = tanh(U x_t + W f_t + b)            U = weight_ih_l0, W = weight_fh_l0, b = bias_ih_l0
    o_t = V h_t + c,  ŷ_t = softmax(o_t) (cross_entropy) or o_t (mse)     V = head.weight, c = head.bias

f_0 = 0. Where a teacher-forced step has no target (-100), the model's own ŷ_{t−1} is fed.

The gradient stops at the fed value: f_t is a constant for back-propagation (the memory's α and
the fed outputs carry no gradient), so h_t has no recurrent gradient path at all — Jordan's
"simple recurrent network" whose error does not reach the past, and the output-recurrent net
that teacher forcing lets one train without BPTT. With δ_t = ∂L/∂h_t and ∂L/∂a_t = (1 − h_t²) ⊙ δ_t:

    δ_t = Vᵀ ∂L/∂o_t          (no Wᵀ… term from step t+1)
    ∂L/∂U = Σ_t ∂L/∂a_t x_tᵀ,  ∂L/∂W = Σ_t ∂L/∂a_t f_tᵀ,  ∂L/∂b = Σ_t ∂L/∂a_t

**Representation.** Because f_t is a constant, the run is the engine's ordinary chain (one tanh
layer) whose input is [x_t ; f_t] and whose recurrent weight is fixed at zero, with every hand-off
detached (engine.chain.window_chain(T, 1)): the recorder, the events, the schedule and the
analysis serve it unchanged. The fed values are computed first (a forward pre-pass, in time
order); the recorded run then reproduces the same forward pass. Its Trace carries
`activations["fed"]` (T, B, O), `trace.feedback` (feed, α, the fed columns of x, the Jacobian norm
‖∂h_t/∂f_t‖ of the edge the gradient does not cross) and `grads` / `grad_contributions` under
this model's names (U and W split out of the chain's input weight; no W_hh, no b_hh).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..analysis.jacobians import spectral_norms
from ..chain import window_chain
from ..events import Event
from ..weight_terms import outer_sum_norms
from ..losses import IGNORE, compute_loss
from ..network import Network
from ..params import Architecture
from ..recorder import StepRun
from ..trace import Trace

FEEDS = ("memory", "teacher", "output")


def feedback_shapes(input_size: int, hidden_size: int, output_size: int) -> dict[str, tuple[int, ...]]:
    """Parameter name → shape of a feedback network (torch-like names; weight_fh: fed → hidden)."""
    I, H, O = input_size, hidden_size, output_size
    return {"weight_ih_l0": (H, I), "weight_fh_l0": (H, O), "bias_ih_l0": (H,), "head.weight": (O, H),
            "head.bias": (O,)}


class FeedbackNetwork:
    """A Jordan (feed="memory", fixed α) or output-recurrent (feed="teacher" | "output") network."""

    node_names = ["h_l0"]
    cell, num_layers, directions, bidirectional = "rnn_tanh", 1, 1, False

    def __init__(self, state: Mapping[str, np.ndarray], feed: str, alpha: float = 0.5, dtype=np.float64) -> None:
        if feed not in FEEDS:
            raise ValueError(f"feed must be one of {', '.join(FEEDS)}; got {feed!r}")
        if not (np.isfinite(alpha) and 0 <= alpha < 1):
            raise ValueError(f"alpha must be a number in [0, 1); got {alpha}")
        if "weight_ih_l0" not in state or "head.weight" not in state:
            raise ValueError("missing parameter 'weight_ih_l0' or 'head.weight'")
        H, I = np.shape(state["weight_ih_l0"])
        O = np.shape(state["head.weight"])[0]
        self.arch = Architecture("rnn_tanh", int(I) + int(O), int(H), int(O))   # the chain it runs as
        elman = Network(self.arch, self._as_chain(state, int(I), int(H), int(O)), dtype)   # validates
        self._net = elman
        self.feed, self.alpha, self.dtype = feed, float(alpha), elman.dtype
        self.input_size, self.hidden_size, self.output_size = int(I), int(H), int(O)

    @staticmethod
    def _as_chain(state: Mapping[str, np.ndarray], I: int, H: int, O: int) -> dict[str, np.ndarray]:
        """The chain's state dict: W_ih = [U | W], W_hh = 0, b_hh = 0 (ValueError naming a bad parameter)."""
        shapes = feedback_shapes(I, H, O)
        extra = sorted(set(state) - set(shapes))
        if extra:
            raise ValueError(f"unexpected parameter(s): {', '.join(extra)}")
        for name, shape in shapes.items():
            if name not in state:
                raise ValueError(f"missing parameter {name!r}")
            if np.shape(state[name]) != shape:
                raise ValueError(f"parameter {name!r} has shape {np.shape(state[name])}, expected {shape}")
        return {"weight_ih_l0": np.concatenate([state["weight_ih_l0"], state["weight_fh_l0"]], axis=1),
                "weight_hh_l0": np.zeros((H, H)), "bias_ih_l0": state["bias_ih_l0"], "bias_hh_l0": np.zeros(H),
                "head.weight": state["head.weight"], "head.bias": state["head.bias"]}

    @classmethod
    def random(cls, input_size: int, hidden_size: int, output_size: int, feed: str, alpha: float = 0.5,
               seed: int = 0, dtype=np.float64) -> "FeedbackNetwork":
        """torch's default U(−1/√H, 1/√H) for every parameter."""
        if min(input_size, hidden_size, output_size) < 1:
            raise ValueError("input_size, hidden_size and output_size must all be ≥ 1")
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(hidden_size)
        state = {name: rng.uniform(-bound, bound, shape)
                 for name, shape in feedback_shapes(input_size, hidden_size, output_size).items()}
        return cls(state, feed, alpha, dtype)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of this model's parameters (no W_hh: there is none)."""
        chain = self._net.state_dict()
        I = self.input_size
        return {"weight_ih_l0": chain["weight_ih_l0"][:, :I].copy(), "weight_fh_l0": chain["weight_ih_l0"][:, I:].copy(),
                "bias_ih_l0": chain["bias_ih_l0"], "head.weight": chain["head.weight"], "head.bias": chain["head.bias"]}

    def with_state(self, state: Mapping[str, np.ndarray]) -> "FeedbackNetwork":
        """The same feed, α and dtype with the parameters `state`."""
        return FeedbackNetwork(state, self.feed, self.alpha, self.dtype)

    def with_feed(self, feed: str) -> "FeedbackNetwork":
        """The same weights with another fed value (teacher forcing at train time, own outputs at test time)."""
        return FeedbackNetwork(self.state_dict(), feed, self.alpha, self.dtype)

    # -- running -----------------------------------------------------------------------------
    def fed_values(self, x: np.ndarray, targets: np.ndarray, loss: str) -> np.ndarray:
        """(T, B, O) f_t for checked inputs x (T, B, I): the forward pass in time order, each step's
        output deciding the next step's fed value (f_0 = 0)."""
        T, B, _ = x.shape
        p = self._net.state_dict()
        w_x, w_f = p["weight_ih_l0"][:, :self.input_size], p["weight_ih_l0"][:, self.input_size:]
        fed = np.zeros((T, B, self.output_size), dtype=self.dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(T - 1):
                h = np.tanh(x[t] @ w_x.T + fed[t] @ w_f.T + p["bias_ih_l0"])
                o = h @ p["head.weight"].T + p["head.bias"]
                own = o if loss == "mse" else compute_loss(o[None], targets[t][None], loss).probs[0]
                if self.feed == "memory":
                    fed[t + 1] = self.alpha * fed[t] + own
                elif self.feed == "output":
                    fed[t + 1] = own
                else:
                    fed[t + 1] = _teacher(targets[t], own, loss)
        return fed

    def free_run(self, first_input: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Test time for a model whose outputs are also its inputs (a character model): from one-hot
        rows `first_input` (B, I), each step's argmax output is fed back as the next input (as
        engine.free_run does for a chain) while the fed value follows this model's feed. Returns
        (x (steps, B, I), tokens (steps, B)); `run(x, targets)` with feed "output" records it."""
        if self.input_size < self.output_size:
            raise ValueError("feeding outputs back as inputs needs input_size ≥ output_size")
        first = np.atleast_2d(np.asarray(first_input, dtype=self.dtype))
        B = first.shape[0]
        p = self.state_dict()
        xs = np.zeros((steps, B, self.input_size), dtype=self.dtype)
        tokens = np.zeros((steps, B), dtype=np.int64)
        fed = np.zeros((B, self.output_size), dtype=self.dtype)
        xs[0] = first
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(steps):
                h = np.tanh(xs[t] @ p["weight_ih_l0"].T + fed @ p["weight_fh_l0"].T + p["bias_ih_l0"])
                o = h @ p["head.weight"].T + p["head.bias"]
                own = compute_loss(o[None], np.full((1, B), IGNORE), "cross_entropy").probs[0]
                tokens[t] = np.argmax(np.nan_to_num(o, nan=-np.inf), axis=-1)
                fed = self.alpha * fed + own if self.feed == "memory" else own
                if t + 1 < steps:
                    xs[t + 1, np.arange(B), tokens[t]] = 1.0
        return xs, tokens

    def steps(self, x, targets, loss: str = "cross_entropy") -> "FeedbackRun":
        """One cell step at a time, in the chain's event schedule; `.trace` once exhausted."""
        x, targets = self._net_inputs(x, targets, loss)
        return FeedbackRun(self, StepRun(self.arch, self._net.state_dict(), x, targets, loss,
                                         chain=window_chain(x.shape[0], 1)))

    def run(self, x, targets, loss: str = "cross_entropy", initial_state=None, recurrent_gradient: bool = True,
            contributions: bool = True, **_ignored) -> Trace:
        """The whole run (the Trainer's call; initial_state must be None: the state is the fed value,
        and recurrent_gradient is moot: there is no recurrent gradient)."""
        if initial_state:
            raise ValueError("a feedback network starts from f_0 = 0; initial_state is not supported")
        x, targets = self._net_inputs(x, targets, loss)
        run = StepRun(self.arch, self._net.state_dict(), x, targets, loss, emit=False, contributions=contributions,
                      chain=window_chain(x.shape[0], 1))
        return self._finish(run.run_to_end(), contributions)

    def _net_inputs(self, x, targets, loss: str) -> tuple[np.ndarray, np.ndarray]:
        """[x ; f] (T, B, I + O) and the checked targets."""
        x = np.asarray(x)
        if x.ndim == 2:
            x = x[:, None, :]
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"x must have shape (T, B, {self.input_size}); got {np.shape(x)}")
        padded = np.concatenate([x, np.zeros(x.shape[:2] + (self.output_size,))], axis=-1)
        padded, targets = self._net.check_inputs(padded, targets, loss)
        padded[..., self.input_size:] = self.fed_values(padded[..., :self.input_size], targets, loss)
        return padded, targets

    def _finish(self, trace: Trace, contributions: bool = True) -> Trace:
        """The chain's trace in this model's terms: the fed values as an activation, the gradients under
        this model's names and the fed edge's Jacobian norms."""
        I = self.input_size
        x, fed = trace.x[..., :I], trace.x[..., I:]
        h = trace.activations["h_l0"]
        trace.activations["fed"] = fed
        g = trace.grads
        grads = {"weight_ih_l0": g["weight_ih_l0"][:, :I], "weight_fh_l0": g["weight_ih_l0"][:, I:],
                 "bias_ih_l0": g["bias_ih_l0"], "head.weight": g["head.weight"], "head.bias": g["head.bias"]}
        if contributions:
            dz = trace.gradients["h_l0"] * (1.0 - h * h)                       # ∂L/∂a_t
            c = trace.grad_contributions
            trace.grad_contributions = {
                "weight_ih_l0": outer_sum_norms(dz, x), "weight_fh_l0": outer_sum_norms(dz, fed),
                "bias_ih_l0": c["bias_ih_l0"], "head.weight": c["head.weight"], "head.bias": c["head.bias"]}
        trace.grads = grads
        w_f = self._net.state_dict()["weight_ih_l0"][:, I:]
        with np.errstate(over="ignore", invalid="ignore"):
            T, B, H = h.shape
            jac = ((1.0 - h * h).reshape(T * B, H, 1) * w_f[None])                 # ∂h_t/∂f_t per (t, b)
            fed_jac = spectral_norms(jac).reshape(T, B).mean(axis=1)
        return FeedbackTrace.adopt(trace, {"feed": self.feed, "alpha": self.alpha, "input_size": I,
                                           "fed_size": self.output_size, "fed_jacobian_norms": fed_jac})


class FeedbackTrace(Trace):
    """A feedback network's Trace: the chain's record plus `feedback` (feed, alpha, input_size,
    fed_size, fed_jacobian_norms (T,) = batch mean of ‖∂h_t/∂f_t‖₂ = ‖diag(1 − h_t²) W‖₂, and for
    Jordan's memory memory_jacobian_norms (T,): ‖∂m_t/∂m_{t−1}‖₂ = ‖α I‖₂ = α from t = 1 on, NaN at
    t = 0 (m_0 = 0 has no predecessor) — the fixed-weight self-loop, which no gradient crosses)."""

    feedback: dict

    @classmethod
    def adopt(cls, trace: Trace, feedback: dict) -> "FeedbackTrace":
        """`trace` (the chain's record of this model, or one loaded from a file) read as a feedback
        network's trace, with `feedback`'s facts; the memory loop's Jacobian norms are added here."""
        fb = dict(feedback)
        fb["fed_jacobian_norms"] = np.asarray(fb["fed_jacobian_norms"], dtype=np.float64)
        if fb["feed"] == "memory":
            fb["memory_jacobian_norms"] = np.where(np.arange(trace.T) > 0, float(fb["alpha"]), np.nan)
        trace.__class__ = cls                        # the same record, read as this model's trace
        trace.feedback = fb
        return trace

    def saved_meta(self) -> dict:
        """`save` keeps the fed value's facts, so `engine.topologies.load_trace` reads a FeedbackTrace back."""
        keep = ("feed", "alpha", "input_size", "fed_size")
        return {"feedback": {**{k: self.feedback[k] for k in keep},
                             "fed_jacobian_norms": np.asarray(self.feedback["fed_jacobian_norms"]).tolist()}}

    def summary(self) -> dict:
        """The chain's summary plus "feedback" (the fed edge's Jacobian norms as Python floats)."""
        out = super().summary()
        fb = dict(self.feedback)
        for key in ("fed_jacobian_norms", "memory_jacobian_norms"):
            if key in fb:
                fb[key] = np.asarray(fb[key], dtype=np.float64).tolist()
        out["feedback"] = fb
        return out


def _teacher(target: np.ndarray, own: np.ndarray, loss: str) -> np.ndarray:
    """The true output of a step (B, O), the model's own where a batch entry has no target."""
    if loss == "mse":
        missing = np.all(target == IGNORE, axis=-1)
        return np.where(missing[:, None], own, target)
    onehot = np.eye(own.shape[-1], dtype=own.dtype)[np.where(target == IGNORE, 0, target)]
    return np.where((target == IGNORE)[:, None], own, onehot)


class FeedbackRun:
    """A feedback network's step-wise run: the chain's StepRun, its trace converted when it ends."""

    def __init__(self, model: FeedbackNetwork, run: StepRun) -> None:
        self._model, self._run = model, run
        self.trace: Trace | None = None

    schedule = property(lambda self: self._run.schedule, doc="the chain's event schedule")
    stages = property(lambda self: self._run.stages, doc="the chain's parts")

    def __iter__(self) -> "FeedbackRun":
        return self

    def __next__(self) -> Event:
        try:
            return next(self._run)
        except StopIteration:
            if self.trace is None:
                self.trace = self._model._finish(self._run.trace)
            raise

    def close(self) -> None:
        """Stop early."""
        self._run.close()

    def run_to_end(self) -> Trace:
        """Consume every remaining step and return the finished trace."""
        for _ in self:
            pass
        assert self.trace is not None
        return self.trace
