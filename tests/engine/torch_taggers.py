"""Small torch models for the import tests ([Embedding →] RNN / LSTM / GRU → Linear) and their float64
autograd reference with the engine's loss (L = Σ_t mean-over-batch cross-entropy) and parameter names."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine_cases import assert_steps


class Tagger(torch.nn.Module):
    """[Embedding →] RNN / LSTM / GRU → Linear, returning the logits of every step."""

    def __init__(self, kind: str, vocab: int | None = None, layers: int = 1, bidirectional: bool = False,
                 batch_first: bool = False, I: int = 3, H: int = 4, O: int = 5) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.emb = torch.nn.Embedding(vocab, I) if vocab else None
        self.rnn = getattr(torch.nn, kind)(I, H, num_layers=layers, bidirectional=bidirectional,
                                           batch_first=batch_first)
        self.lin = torch.nn.Linear(H * (2 if bidirectional else 1), O)

    def forward(self, x):
        if self.emb is not None:
            x = self.emb(x)
        return self.lin(self.rnn(x)[0])


def torch_reference(module: Tagger, x: torch.Tensor, y: np.ndarray, batch_first: bool):
    """(loss, logits (T, B, O), grads by engine name) of the module in float64: L = Σ_t CE(o_t, y_t)."""
    ref = module.double()
    logits = ref(x if x.dtype == torch.long else x.double())
    return reference_of(ref, logits, y, batch_first, {"lin.": "head.", "emb.": "embedding.", "rnn.": ""})


def reference_of(ref: torch.nn.Module, logits: torch.Tensor, y: np.ndarray, batch_first: bool, rename: dict):
    """(loss, logits (T, B, O), grads renamed to the engine's names) after backward of Σ_t CE(o_t, y_t)."""
    time_first = logits.transpose(0, 1) if batch_first else logits
    targets = torch.tensor(y.T if batch_first else y)
    loss = sum(F.cross_entropy(time_first[t], targets[t]) for t in range(time_first.shape[0]))
    loss.backward()
    grads = {}
    for name, p in ref.named_parameters():
        for old, new in rename.items():
            if name.startswith(old):
                grads[new + name[len(old):]] = p.grad.numpy()
                break
    return float(loss.detach()), time_first.detach().numpy(), grads




def assert_matches(trace, loss: float, logits: np.ndarray, grads: dict[str, np.ndarray]) -> None:
    """The engine's loss, logits (per step) and every parameter gradient equal torch's to 1e-9."""
    assert trace.loss == pytest.approx(loss, rel=1e-9)
    assert_steps(trace.activations["logits"], logits, "logits", tol=1e-9)
    assert set(trace.grads) == set(grads)
    for key, expected in grads.items():
        np.testing.assert_allclose(trace.grads[key], expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max(),
                                   err_msg=key)
