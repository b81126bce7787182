"""An ONNX model's input values (by graph input name) as the arguments of `Network.run`."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .onnx_import import OnnxSignature


def run_arguments(signature: OnnxSignature, feeds: Mapping[str, np.ndarray]) -> dict:
    """{"x": …, "lengths": …, "initial_state": …} for `net.run(**args, targets=…)` from the values one
    would feed the ONNX graph: the sequence in the graph's own layout (the network remembers it),
    sequence_lens as lengths, and initial_h / initial_c ((D, B, H), or (B, D, H) for layout 1) split
    into the engine's nodes h_l{k}[_reverse] / c_l{k}[_reverse]. ValueError naming an unknown input."""
    known = {signature.sequence, signature.lengths, *signature.initial}
    unknown = sorted(set(feeds) - known)
    if unknown:
        raise ValueError(f"unknown graph input {unknown[0]!r}; the model reads {', '.join(sorted(k for k in known if k))}")
    if signature.sequence not in feeds:
        raise ValueError(f"the sequence input {signature.sequence!r} is missing")
    args: dict = {"x": np.asarray(feeds[signature.sequence])}
    if signature.lengths and signature.lengths in feeds:
        args["lengths"] = np.asarray(feeds[signature.lengths])
    initial = {}
    for name, (state, layer, layout, reverse) in signature.initial.items():
        if name not in feeds:
            continue
        value = np.asarray(feeds[name], dtype=np.float64)
        if value.ndim != 3:
            raise ValueError(f"graph input {name!r} has shape {value.shape}; expected (directions, B, H)")
        if layout:
            value = np.swapaxes(value, 0, 1)
        for d in range(value.shape[0]):
            initial[f"{state}_l{layer}{'_reverse' if d or reverse else ''}"] = value[d]
    if initial:
        args["initial_state"] = initial
    return args
