"""Targets of an uploaded model whose head reads the final states (readout "final_state", issue 19: an
ONNX graph's `fc(cat(h_n[-2], h_n[-1]))`): one target per sequence. A targets file holds (B,) class ids
or (B, O) values — or per-step (T, B[, O]) with at most one target per sequence; without one the loss is
cross-entropy against the model's own prediction for each sequence (mse: a zero target). The engine's
per-step form (T, B[, O]) has each target at row T − 1, -100 elsewhere (engine.readout)."""

from __future__ import annotations

import numpy as np

from unrolled import engine
from unrolled.engine.losses import IGNORE, check_targets
from unrolled.engine.readout import one_target_per_sequence, per_step_targets, sequence_targets
from unrolled.server.uploads.model_files import ModelFileError, ModelFiles, npy_array


def final_state_targets(files: ModelFiles, net: engine.Network, x: np.ndarray, max_bytes: int,
                        lengths: np.ndarray | None, batch_first: bool) -> tuple[np.ndarray, str, str]:
    """(per-step targets, loss, where they came from) for a final-state model; ModelFileError naming
    the targets file when it holds something else."""
    T, B = x.shape[:2]
    O = net.output_size
    if files.targets is None:
        loss = files.loss or "cross_entropy"
        if loss == "mse":
            return per_step_targets(np.zeros((B, O)), loss, T, B), loss, "zeros"
        options = {} if lengths is None else {"lengths": lengths}
        forward = net.run(x, np.full((T, B), IGNORE), loss=loss, contributions=False, **options)
        return per_step_targets(np.argmax(forward.activations["logits"][-1], axis=-1), loss, T, B), loss, "own_argmax"
    y = npy_array(files.targets, files.targets_name, "targets", max_bytes)
    loss = files.loss or ("cross_entropy" if y.dtype.kind in "iu" else "mse")
    try:
        if sequence_targets(y, loss):
            y = per_step_targets(y, loss, T, B)
        elif batch_first and y.ndim >= 2:
            y = np.swapaxes(y, 0, 1)
        targets = check_targets(y, loss, T, B, O)
        one_target_per_sequence(targets, loss)                 # refuses two targets in one sequence
    except ValueError as exc:
        one = f"({B},) class ids in [0, {O})" if loss == "cross_entropy" else f"({B}, {O}) numbers"
        raise ModelFileError(f"{files.targets_name} has shape {y.shape}, dtype {y.dtype}: {exc} (this model reads "
                             f"its final states: one target per sequence, {one})", "targets") from None
    return targets, loss, "file"
