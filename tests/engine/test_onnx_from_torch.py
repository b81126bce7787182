"""Network.from_torch on whole torch models: batch_first, stacked and bidirectional modules with dropout,
an Embedding in front, and the one-layer cell modules nn.RNNCell / LSTMCell / GRUCell — loss, logits and
every parameter gradient equal torch autograd (float64) to 1e-9."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from unrolled import engine
from torch_taggers import Tagger, assert_matches, reference_of, torch_reference


def test_batch_first_stacked_lstm_with_dropout_takes_the_users_layout():
    module = Tagger("LSTM", layers=2, batch_first=True)
    module.rnn.dropout = 0.2
    with pytest.warns(UserWarning, match=r"dropout=0.2.*eval-mode"):
        net = engine.Network.from_torch(module.rnn, head=module.lin)
    assert net.batch_first and net.num_layers == 2
    x = torch.randn(3, 7, 3, generator=torch.Generator().manual_seed(0))          # (B, T, I), as torch trains
    y = np.random.default_rng(0).integers(0, 5, (3, 7))                            # (B, T)
    trace = net.run(x.numpy(), y)
    assert trace.activations["h_l1"].shape == (7, 3, 4)                           # the trace stays time-first
    module.eval()
    assert_matches(trace, *torch_reference(module, x, y, batch_first=True))
    again = net.with_state(net.state_dict())
    assert again.batch_first and again.run(x.numpy(), y).loss == trace.loss


def test_embedding_bidirectional_gru_from_torch():
    module = Tagger("GRU", vocab=9, layers=2, bidirectional=True)
    net = engine.Network.from_torch(module.rnn, head=module.lin, embedding=module.emb)
    x = torch.randint(0, 9, (6, 2), generator=torch.Generator().manual_seed(0))
    y = np.random.default_rng(0).integers(0, 5, (6, 2))
    assert_matches(net.run(x.numpy(), y), *torch_reference(module, x, y, batch_first=False))


class CellLoop(torch.nn.Module):
    """A hand-written loop over a cell module, with a Linear head at every step."""

    def __init__(self, cell: torch.nn.Module, H: int = 4, O: int = 5) -> None:
        super().__init__()
        self.cell, self.lin = cell, torch.nn.Linear(H, O)

    def forward(self, x):
        H = self.cell.hidden_size
        h = torch.zeros(x.shape[1], H, dtype=x.dtype)
        c = torch.zeros_like(h)
        outputs = []
        for x_t in x:
            if isinstance(self.cell, torch.nn.LSTMCell):
                h, c = self.cell(x_t, (h, c))
            else:
                h = self.cell(x_t, h)
            outputs.append(self.lin(h))
        return torch.stack(outputs)


@pytest.mark.parametrize("make, cell", [
    (lambda: torch.nn.RNNCell(3, 4), "rnn_tanh"),
    (lambda: torch.nn.RNNCell(3, 4, nonlinearity="relu"), "rnn_relu"),
    (lambda: torch.nn.LSTMCell(3, 4), "lstm"),
    (lambda: torch.nn.GRUCell(3, 4), "gru"),
])
def test_cell_modules_are_one_layer_networks(make, cell):
    torch.manual_seed(0)
    loop = CellLoop(make())
    net = engine.Network.from_torch(loop.cell, head=loop.lin)
    assert net.cell == cell and net.num_layers == 1 and not net.bidirectional
    x = torch.randn(6, 2, 3, generator=torch.Generator().manual_seed(1))
    y = np.random.default_rng(0).integers(0, 5, (6, 2))
    loop = loop.double()
    rename = {"lin.": "head.", "cell.": ""}
    loss, logits, grads = reference_of(loop, loop(x.double()), y, False, rename)
    grads = {k if k.startswith("head.") else f"{k}_l0": v for k, v in grads.items()}
    assert_matches(net.run(x.numpy(), y), loss, logits, grads)


def test_refusals_name_what_is_not_supported():
    with pytest.raises(ValueError, match="proj_size"):
        engine.Network.from_torch(torch.nn.LSTM(2, 4, proj_size=2))
    with pytest.raises(ValueError, match="embedding: max_norm"):
        engine.Network.from_torch(torch.nn.GRU(2, 4), embedding=torch.nn.Embedding(5, 2, max_norm=1.0))
    with pytest.raises(ValueError, match="embedding must be a torch.nn.Embedding"):
        engine.Network.from_torch(torch.nn.GRU(2, 4), embedding=torch.nn.Linear(5, 2))
    with pytest.raises(ValueError, match="head must be a torch.nn.Linear"):
        engine.Network.from_torch(torch.nn.GRU(2, 4), head=torch.nn.GRU(4, 4))
