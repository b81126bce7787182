"""How the gradient flows back in time: ‖∂L/∂h_t‖ per step, and the flow matrix ‖∂L_k/∂h_t‖ that
separates the loss terms (each L_k back-propagated alone through the recorded network)."""
from __future__ import annotations

import numpy as np

from ..cells import Cell, GradStep
from ..layer import BackwardSink, Carry, backward_direction
from ..norms import batch_mean_norm
from ..readout import FINAL_STATE, scatter_final
from ..record import TraceRecord

FLOW_WORK_BUDGET = 4e9          # multiply-adds one flow_matrix may spend (rows are dropped to stay under it)
FLOW_MEMORY_BUDGET = 256 << 20  # bytes of the gradient buffer between layers


def gradient_norms(trace: TraceRecord) -> dict[str, np.ndarray]:
    """node → (T,) batch mean of ‖∂L/∂h_t‖ (the total gradient), computed once per record; in a padded
    batch the mean over the entries for which t is real (NaN where none is)."""
    return trace.remember("gradient_norms",
                          lambda: {n: batch_mean_norm(trace.gradients[n], trace.valid) for n in trace.node_names})


def flow_matrix(trace: TraceRecord, node: str, max_rows: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(ks, M): M[j, t] = batch mean of ‖∂L_{ks[j]}/∂h_t‖ for the steps ks that carry a loss, computed
    once per record and max_rows; for long sequences ks is an even subsample (endpoints kept) of at
    most `max_rows` steps, fewer when the work would be large (see flow_rows)."""
    if node not in trace.node_names:
        raise ValueError(f"unknown node {node!r}; nodes are {', '.join(trace.node_names)}")

    def compute():
        ks = flow_rows(trace, max_rows)
        return ks, flow_norms(trace, ks)
    ks, table = trace.remember(("flow", max_rows), compute)
    return ks, table[node]


class FlowSink(BackwardSink):
    """Keeps, per step, the batch-mean ‖∂L_k/∂h_t‖ for each of K loss terms, and the gradient for the layer below;
    the step's other gradients go to scratch buffers reused across steps."""

    def __init__(self, cell: Cell, T: int, K: int, B: int, H: int, w_ih: np.ndarray | None,
                 d_below: np.ndarray | None, dtype, valid: np.ndarray | None = None) -> None:
        self.norms = np.zeros((K, T))
        self.valid = valid                 # (T, B) the real entries of a padded batch, or None
        self.w_ih = w_ih                   # the weights of the segment being back-propagated
        self.d_below = d_below             # (T, K, B, I_k) accumulated, or None for the bottom layer
        rows = cell.blocks * H
        dz_ih = np.zeros((K, B, rows), dtype=dtype)
        self.scratch = GradStep(
            dh=np.zeros((K, B, H), dtype=dtype), dz_ih=dz_ih,
            dz_hh=np.zeros_like(dz_ih) if cell.separate_hh_grad else dz_ih,
            dgates=np.zeros((K, B, rows), dtype=dtype) if cell.gates else None,
            dc=np.zeros((K, B, H), dtype=dtype) if cell.has_cell_state else None)

    def buffers(self, t: int) -> GradStep:
        """The reused scratch buffers."""
        return self.scratch

    def done(self, t: int, step: GradStep) -> None:
        """Record step t's norms (dh is (K, B, H)) and send its input gradient down."""
        self.norms[:, t] = batch_mean_norm(step.dh, None if self.valid is None else self.valid[t])
        if self.d_below is not None:
            self.d_below[t] += step.dz_ih @ self.w_ih


def loss_steps(trace: TraceRecord) -> np.ndarray:
    """The timesteps that carry a loss term (a target for at least one batch entry)."""
    return np.flatnonzero(trace.mask.any(axis=1))


def flow_rows(trace: TraceRecord, max_rows: int) -> np.ndarray:
    """Which loss steps k get a row in the flow matrix: all, or an even subsample with both ends."""
    ks = loss_steps(trace)
    H, D = trace.hidden_size, trace.directions
    per_row = trace.T * trace.B * H * (trace.cell_impl.blocks * H + trace.input_size) * D * trace.num_layers
    rows = int(min(max_rows, max(2, FLOW_WORK_BUDGET // max(per_row, 1))))
    if len(ks) <= rows:
        return ks
    return ks[np.unique(np.round(np.linspace(0, len(ks) - 1, rows)).astype(int))]


def flow_norms(trace: TraceRecord, ks: np.ndarray) -> dict[str, np.ndarray]:
    """node → (len(ks), T): batch mean of ‖∂L_k/∂h_t‖, back-propagating only the loss term of step k
    (over the real entries of a padded batch).
    The K loss terms travel together as an extra batch dimension (chunked to bound memory)."""
    T, B, H, D = trace.T, trace.B, trace.hidden_size, trace.directions
    widest = max(trace.input_size, H * D)
    chunk = max(1, int(FLOW_MEMORY_BUDGET // (T * B * widest * 8)))
    parts = [_flow_chunk(trace, ks[i:i + chunk]) for i in range(0, len(ks), chunk)] or [_flow_chunk(trace, ks)]
    return {node: np.concatenate([p[node] for p in parts], axis=0) for node in trace.node_names}


def _flow_chunk(trace: TraceRecord, ks: np.ndarray, d_top: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The rows ks of the flow matrix: BPTT of K one-hot loss terms through the recorded network,
    stage by stage in reverse with each stage's weights (across the chain's hand-offs). `d_top`
    (T, K, B, D·H), when given, is what arrives at the top layer instead (issue 21: output_grads)."""
    cell = trace.cell_impl
    T, B, H, K, D = trace.T, trace.B, trace.hidden_size, len(ks), trace.directions
    out = {}
    with np.errstate(over="ignore", invalid="ignore"):
        if d_top is not None:
            d_above = d_top
        else:
            dlogits = np.zeros((T, K, B, trace.output_size), dtype=trace.dtype)
            dlogits[ks, np.arange(K)] = trace.gradients["logits"][ks]      # ∂L_k/∂o_t is nonzero only at t = k
            d_above = _head_injection(trace, dlogits)
        for k in reversed(range(trace.num_layers)):
            d_below = None if k == 0 else np.zeros((T, K, B, trace.arch.layer_input_size(k)), dtype=trace.dtype)
            for d in range(D):
                s, reverse = trace.arch.tag(k, d), trace.arch.reversed(k, d)
                rec, cuts = trace.layer_record(k, d), trace.cuts(reverse)
                sink = FlowSink(cell, T, K, B, H, None, d_below, trace.dtype, trace.valid)
                carry = Carry(cell, (K, B, H), trace.dtype)
                for seg in reversed(trace.stages):
                    sink.w_ih = trace.weight(seg, f"weight_ih{s}")
                    steps = range(seg.start, seg.stop) if reverse else range(seg.stop - 1, seg.start - 1, -1)
                    for _ in backward_direction(cell, rec, trace.weight(seg, f"weight_hh{s}"),
                                                d_above[seg.span, ..., d * H:(d + 1) * H], sink, carry, steps,
                                                start=seg.start, cuts=cuts, weights=trace.cell_weights(seg, s)):
                        pass
                out[f"h{s}"] = sink.norms
            d_above = d_below
    return out


def _head_injection(trace: TraceRecord, dlogits: np.ndarray) -> np.ndarray:
    """(T, K, B, D·H) ∂L_k/∂(top layer's output) from dlogits (T, K, B, O): at each emitting step for a
    per-step head; for readout='final_state' the one output's gradient enters only at the final
    states (the forward direction's last processed step, the reverse direction's t = 0)."""
    T, K, B = dlogits.shape[:3]
    if trace.arch.readout == FINAL_STATE:          # one stage (FinalStateOutputs refuses segments)
        seg = trace.stages[0]
        grad = dlogits[T - 1] @ trace.weight(seg, "head.weight")                       # (K, B, D·H)
        return scatter_final(grad, T, trace.hidden_size, trace.directions, trace.lengths)
    d_above = np.zeros((T, K, B, trace.directions * trace.hidden_size), dtype=trace.dtype)
    for seg in trace.stages:
        if seg.emits:
            d_above[seg.span] = dlogits[seg.span] @ trace.weight(seg, "head.weight")   # (n, K, B, D·H)
    return d_above


def flow_from_top(trace: TraceRecord, d_top: np.ndarray) -> dict[str, np.ndarray]:
    """node → (T,) batch mean of ‖∂/∂h_t‖ of one gradient `d_top` (T, B, D·H) arriving at the top layer."""
    rows = _flow_chunk(trace, np.array([0]), d_top[:, None])
    return {node: table[0] for node, table in rows.items()}
