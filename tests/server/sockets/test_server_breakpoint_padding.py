"""A grad_below breakpoint does not stop at a step that is padding for every batch element: the
engine's events of a padded batch carry `padding`, the wire message says so, and the one rule skips it."""
from __future__ import annotations

import numpy as np

from unrolled import engine
from unrolled.server.sockets.breakpoints import stops
from unrolled.server.wire.events import event_message


def test_grad_below_skips_all_padding_steps():
    net = engine.Network.random("gru", 3, 4, 2, 1, True, seed=1)
    rng = np.random.default_rng(2)
    T, lengths = 6, np.array([4, 2])                 # t = 4, 5 are padding for both elements
    x, y = rng.normal(size=(T, 2, 3)), rng.integers(0, 2, size=(T, 2))
    messages = [event_message(ev, seq, 0) for seq, ev in enumerate(net.steps(x, y, lengths=lengths))]
    backward = [m for m in messages if m["phase"] == "backward" and m["node"].startswith("h_")]
    padded = [m for m in backward if m.get("padding")]
    assert sorted({m["t"] for m in padded}) == [4, 5] and all(m["norm"] == 0.0 for m in padded)
    assert all(float(m["norm"]) > 1e-12 for m in backward if not m.get("padding"))
    assert stops({"grad_below": 1e-12}, messages) == []
    unmarked = [{k: v for k, v in m.items() if k != "padding"} for m in messages]
    assert stops({"grad_below": 1e-12}, unmarked) != []     # the flag is what keeps them from stopping
