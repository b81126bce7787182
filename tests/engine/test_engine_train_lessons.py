"""The lessons of live training (issue 5), seeded so they are stable.

The networks mirror the server's presets (char-lm, exploding, vanishing-tanh and lstm-memory),
built here from the engine alone.
"""

from __future__ import annotations

import math

import numpy as np

from unrolled import engine
from unrolled.engine.tasks import make_task
from unrolled.engine.train import Trainer, TrainOptions


def train_task(cell, task, hidden, seq_len, batch, options, recurrent_scale=None, forget_bias=0.0, seed=0):
    """The epoch records of training a seeded network on a seeded task batch."""
    data = make_task(task, seq_len, batch, seed)
    net = engine.Network.random(cell, data.input_size, hidden, data.output_size, seed=seed,
                                recurrent_scale=recurrent_scale, forget_bias=forget_bias)
    return list(Trainer(net, data.x, data.targets, data.loss, options).epochs())


def test_char_lm_with_adam_halves_its_loss_within_60_epochs():
    """The char-lm preset (tanh RNN, hidden 32, T=25, batch 4) on the default text, Adam lr 0.01."""
    records = train_task("rnn_tanh", "char_lm", 32, 25, 4, TrainOptions(epochs=60, optimizer="adam", lr=0.01),
                         recurrent_scale=0.9)
    assert len(records) == 60
    assert min(r.loss for r in records) <= records[0].loss / 2
    assert records[-1].loss <= records[0].loss / 2


def test_clipping_keeps_the_exploding_rnn_finite():
    """The exploding preset (ReLU RNN, recurrent scale 2, T=40) with SGD: unclipped, the loss goes
    NaN/Inf or the weights overflow; with clip = 1.0 the clipping is reported and every loss stays finite."""
    options = dict(epochs=50, optimizer="sgd", lr=0.01)
    unclipped = train_task("rnn_relu", "copy", 16, 40, 4, TrainOptions(**options), recurrent_scale=2.0)
    clipped = train_task("rnn_relu", "copy", 16, 40, 4, TrainOptions(**options, clip=1.0), recurrent_scale=2.0)
    assert unclipped[-1].diverged or not all(math.isfinite(r.loss) for r in unclipped)
    assert len(clipped) == 50 and not any(r.diverged for r in clipped)
    assert all(math.isfinite(r.loss) for r in clipped)
    assert clipped[0].clipped and clipped[0].grad_norm > 1e3       # the explosion is there, and was clipped
    assert sum(r.clipped for r in clipped) >= 10
    assert clipped[-1].loss < clipped[0].loss


def test_lstm_beats_tanh_rnn_on_copy_at_seq_len_20():
    """Recall the first of 20 symbols: an LSTM (forget gate biased open, as the lstm-memory preset) ends
    with a lower loss than a tanh RNN (the vanishing-tanh preset) of the same hidden size, batch,
    optimizer and number of epochs."""
    options = TrainOptions(epochs=100, optimizer="adam", lr=0.01)
    tanh = train_task("rnn_tanh", "copy", 16, 20, 4, options, recurrent_scale=0.8)
    lstm = train_task("lstm", "copy", 16, 20, 4, options, recurrent_scale=1.0, forget_bias=3.0)
    assert lstm[-1].loss < tanh[-1].loss / 10
    assert lstm[-1].accuracy == 1.0
    # the tanh RNN's gradient at t=0 is orders of magnitude below its last step's: it vanished
    profile = tanh[0].gradient_norms["h_l0"]
    assert profile[0] < profile[-1] * 1e-2
    assert np.isfinite(profile).all()
