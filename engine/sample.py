"""Test-time unrolling: a next-symbol model generates a sequence by feeding each sampled output
back in as the next input (one-hot), carrying its state from step to step."""
from __future__ import annotations

import numpy as np

from .losses import IGNORE
from .network import Network
from .tbptt import state_at


def _one_hot(ids: list[int], size: int, dtype) -> np.ndarray:
    """(T, 1, size) one-hot inputs for a single sequence."""
    x = np.zeros((len(ids), 1, size), dtype=dtype)
    x[np.arange(len(ids)), 0, ids] = 1.0
    return x


def next_distribution(logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / temperature) in float64; ValueError if the outputs are not finite."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    if not np.isfinite(z).all():
        raise ValueError("the network's outputs are not finite: it cannot be sampled")
    p = np.exp(z - z.max())
    return p / p.sum()


def sample(net: Network, length: int, prime: list[int] | tuple[int, ...] = (0,), seed: int = 0,
           temperature: float = 1.0) -> list[int]:
    """Generate `length` symbol ids after reading the ids `prime`: at each step the output
    distribution softmax(o_t / temperature) is sampled (seeded) and the sample is the next input.

    Needs input_size == output_size (the symbols are both inputs and outputs) and a
    unidirectional network; ValueError otherwise. The same (net, arguments) give the same ids.
    """
    if net.arch.reads_future:
        raise ValueError("sampling needs a unidirectional forward network (no reverse direction)")
    symbols = net.vocab_size if net.arch.embedded else net.input_size      # an embedding reads the ids themselves
    if symbols != net.output_size:
        raise ValueError(f"sampling feeds outputs back as inputs: {'vocab_size' if net.arch.embedded else 'input_size'} "
                         f"({symbols}) must equal output_size ({net.output_size})")
    prime = [int(i) for i in prime]
    if not prime or min(prime) < 0 or max(prime) >= symbols:
        raise ValueError(f"prime must be a non-empty list of ids in [0, {symbols})")
    def inputs(ids: list[int]) -> np.ndarray:
        return np.array(ids)[:, None] if net.arch.embedded else _one_hot(ids, symbols, net.dtype)
    if length < 0 or not temperature > 0:
        raise ValueError("length must be ≥ 0 and temperature > 0")
    rng = np.random.default_rng(seed)
    no_targets = np.full((len(prime), 1), IGNORE)
    trace = net.run(inputs(prime), no_targets, "cross_entropy", contributions=False)
    out: list[int] = []
    for _ in range(length):
        p = next_distribution(trace.activations["logits"][-1, 0], temperature)
        symbol = int(rng.choice(len(p), p=p))
        out.append(symbol)
        trace = net.run(inputs([symbol]), no_targets[:1], "cross_entropy",
                        initial_state=state_at(trace, -1), contributions=False)
    return out
