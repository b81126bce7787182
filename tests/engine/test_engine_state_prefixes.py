"""Whole-model state dicts (`rnn.weight_ih_l0`, `fc.weight`, `emb.weight`) load through
`from_state_dict` by the rule the CLI uses too (engine.state_prefixes), and every refusal names its
real cause: ambiguous prefixes, proj_size, the x shape the caller passed, train-mode dropout."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from unrolled import engine


class Tagger(torch.nn.Module):
    """An ordinary torch model: embedding → bidirectional LSTM → linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding(11, 4)
        self.rnn = torch.nn.LSTM(4, 5, num_layers=2, bidirectional=True)
        self.fc = torch.nn.Linear(10, 3)


def _numpy(module: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().double().numpy() for k, v in module.state_dict().items()}


def test_a_prefixed_whole_model_loads_and_matches_from_torch():
    torch.manual_seed(0)
    model = Tagger()
    net = engine.Network.from_state_dict(_numpy(model), cell="lstm")
    same = engine.Network.from_torch(model.rnn, model.fc, model.emb)
    assert net.vocab_size == 11 and net.num_layers == 2 and net.bidirectional
    ids = np.random.default_rng(0).integers(0, 11, size=(6, 2))
    y = np.random.default_rng(1).integers(0, 3, size=(6, 2))
    a, b = net.run(ids, y), same.run(ids, y)
    assert a.loss == b.loss and np.array_equal(a.grads["embedding.weight"], b.grads["embedding.weight"])


def test_ambiguous_prefixes_are_refused_by_name():
    torch.manual_seed(0)
    state = {**{f"enc.{k}": v for k, v in _numpy(torch.nn.GRU(3, 4)).items()},
             **{f"dec.{k}": v for k, v in _numpy(torch.nn.GRU(3, 4)).items()}}
    with pytest.raises(ValueError, match=r"several recurrent modules \(prefixes 'dec\.', 'enc\.'\)"):
        engine.Network.from_state_dict(state, cell="gru")
    two_heads = {**_numpy(torch.nn.GRU(3, 4)), "a.weight": np.zeros((2, 4)), "b.weight": np.zeros((5, 4))}
    with pytest.raises(ValueError, match=r"ambiguous state dict: a\.weight, b\.weight could each be the head"):
        engine.Network.from_state_dict(two_heads, cell="gru")


def test_proj_size_is_named():
    lstm = torch.nn.LSTM(3, 8, proj_size=4)
    with pytest.raises(ValueError, match=r"weight_hr_l0 of shape \(4, 8\) is an LSTM projection \(proj_size = 4\)"):
        engine.Network.from_state_dict({**_numpy(lstm), "head.weight": np.zeros((2, 4)),
                                        "head.bias": np.zeros(2)}, cell="lstm")
    with pytest.raises(ValueError, match="proj_size"):
        engine.Network.from_torch(lstm)


def test_x_errors_name_the_shape_the_caller_passed():
    net = engine.Network.random("lstm", 5, 4, 3)
    with pytest.raises(ValueError, match=r"x of shape \(7, 3\) looks like integer token ids, but this network has "
                                         r"no embedding"):
        net.run(np.zeros((7, 3), dtype=np.int64), np.zeros((7, 1), dtype=np.int64))
    with pytest.raises(ValueError, match=r"x must have shape \(T, B, 5\) or \(T, 5\); got \(7, 3\)$"):
        net.run(np.zeros((7, 3)), np.zeros((7, 1), dtype=np.int64))


def test_train_mode_with_dropout_warns_and_eval_mode_does_not():
    lstm = torch.nn.LSTM(3, 4, num_layers=2, dropout=0.3)
    with pytest.warns(UserWarning, match=r"in train mode with dropout=0.3"):
        engine.Network.from_torch(lstm.train())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        engine.Network.from_torch(lstm.eval())
