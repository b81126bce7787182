"""torch.onnx.export round trips: a torch model exported to ONNX and read back by Network.from_onnx gives
torch autograd's loss, logits and every parameter gradient (float64) to 1e-9.

The models are exported in float32 (what users export); the reference is the same module in float64,
whose weights are those float32 values exactly.
"""
from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pytest
import torch

from unrolled import engine
from torch_taggers import Tagger, assert_matches, torch_reference


def export(module: torch.nn.Module, x: torch.Tensor, dynamo: bool = True) -> bytes:
    """The module's ONNX file as bytes (one self-contained file, progress output swallowed)."""
    f = io.BytesIO()
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (x,), f, dynamo=dynamo, external_data=False)
    return f.getvalue()


ROUND_TRIPS = {
    "embedding-bilstm2-linear": (dict(kind="LSTM", vocab=11, layers=2, bidirectional=True), True),
    "gru-linear": (dict(kind="GRU"), True),
    "tanh-rnn-linear": (dict(kind="RNN"), False),    # dynamo=True unrolls nn.RNN into MatMul/Tanh per step
    "batch-first-lstm": (dict(kind="LSTM", batch_first=True), True),
    "batch-first-bigru2": (dict(kind="GRU", layers=2, bidirectional=True, batch_first=True), False),
}


@pytest.mark.parametrize("name", list(ROUND_TRIPS))
def test_export_round_trip_equals_torch_autograd(name):
    options, dynamo = ROUND_TRIPS[name]
    module = Tagger(**options)
    T, B, batch_first = 6, 2, options.get("batch_first", False)
    gen = torch.Generator().manual_seed(1)
    shape = (B, T) if batch_first else (T, B)
    x = torch.randint(0, 11, shape, generator=gen) if options.get("vocab") else torch.randn(*shape, 3, generator=gen)
    net = engine.Network.from_onnx(export(module, x, dynamo))
    assert net.batch_first == batch_first
    assert net.num_layers == options.get("layers", 1) and net.bidirectional == options.get("bidirectional", False)
    y = np.random.default_rng(2).integers(0, 5, shape)
    trace = net.run(x.numpy(), y)
    loss, logits, grads = torch_reference(module, x, y, batch_first)
    assert_matches(trace, loss, logits, grads)
