"""engine.record_pool: a dropped trace's memory serves the next run, a held one is never touched,
and every record the engine leases uninitialised is written in full — checked by handing out
NaN-filled memory and comparing each run, array by array, with a run on plain NumPy memory."""
from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

from unrolled import engine
from unrolled.engine import record_pool
from unrolled.engine.patterns import Seq2Seq
from unrolled.engine.record_pool import RecordPool
from unrolled.engine.topologies import FEEDS, FeedbackNetwork


def address(values: np.ndarray) -> int:
    """Where an array's memory starts."""
    return values.__array_interface__["data"][0]


@pytest.fixture
def pool(monkeypatch) -> RecordPool:
    """The process-wide pool, emptied, pooling every size, NaN in whatever it leases uninitialised."""
    record_pool.POOL.clear()
    monkeypatch.setattr(record_pool.POOL, "min_bytes", 0)
    monkeypatch.setattr(record_pool.POOL, "poison", True)
    yield record_pool.POOL
    record_pool.POOL.clear()


def test_a_dropped_array_is_reused_and_zeros_come_zeroed():
    p = RecordPool(max_free_bytes=1 << 20, min_bytes=0)
    a = p.zeros((4, 8), np.float64)
    a += 7
    first = address(a)
    del a
    assert p.free_bytes == 4 * 8 * 8
    b = p.zeros((8, 4), np.float64)               # same bytes, another shape
    assert address(b) == first and p.free_bytes == 0
    assert not b.any()


def test_a_view_keeps_its_memory_out_of_the_pool():
    p = RecordPool(max_free_bytes=1 << 20, min_bytes=0)
    a = p.empty((10, 3), np.float64)
    a[:] = np.arange(30).reshape(10, 3)
    row = a[4][1:]                                 # a view of a view
    del a
    gc.collect()
    assert p.free_bytes == 0
    b = p.empty((10, 3), np.float64)
    assert address(b) != address(row) - 4 * 3 * 8 - 8
    b.fill(-1)
    assert row.tolist() == [13.0, 14.0]
    del row
    gc.collect()
    assert p.free_bytes == 10 * 3 * 8


def test_the_idle_memory_is_capped_and_a_zero_cap_pools_nothing():
    p = RecordPool(max_free_bytes=1000, min_bytes=0)
    arrays = [p.empty((100,), np.float64) for _ in range(3)]     # 800 bytes each
    del arrays
    assert p.free_bytes == 800
    p.max_free_bytes = 0
    a = p.empty((100,), np.float64)
    assert a.base is None or not isinstance(a.base, np.ndarray) or a.base.base is None
    assert p.free_bytes == 800                      # untouched: the zero cap bypasses the pool
    p.clear()
    assert p.free_bytes == 0


def test_small_requests_bypass_the_pool():
    p = RecordPool(max_free_bytes=1 << 20, min_bytes=1024)
    a = p.empty((10,), np.float64)
    assert a.flags.owndata
    del a
    assert p.free_bytes == 0


def _arrays(tr) -> dict[str, np.ndarray]:
    """Every array a trace reports, by a readable name."""
    out = {"loss_t": tr.loss_t, "loss": np.asarray(tr.loss)}
    for group in ("activations", "gradients", "grads", "grad_contributions", "initial_state_grads"):
        out.update({f"{group}.{k}": np.asarray(v) for k, v in getattr(tr, group).items()})
    if getattr(tr, "input_grads", None) is not None:
        out["input_grads"] = tr.input_grads
    return out


def _same(reference: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> None:
    assert reference.keys() == got.keys()
    for name, want in reference.items():
        assert np.array_equal(want, got[name], equal_nan=True), name


def _runs() -> list[tuple[str, object]]:
    """(id, a function running one model) over every cell and the engine's topologies and options."""
    rng = np.random.default_rng(5)
    T, B, I, H, O = 9, 3, 4, 5, 3
    x = rng.normal(size=(T, B, I))
    y = rng.integers(0, O, size=(T, B))
    lengths = np.array([9, 4, 6])
    runs = []
    for cell in engine.CELL_TYPES:
        net = engine.Network.random(cell, I, H, O, num_layers=2, bidirectional=True, seed=3)
        runs.append((f"{cell}-padded-bi-2", lambda net=net: net.run(x, y, lengths=lengths)))
        forward = engine.Network.random(cell, I, H, O, num_layers=2, seed=3)
        h0 = {"h_l1": rng.normal(size=(B, H))}
        runs.append((f"{cell}-truncated", lambda net=forward: net.run(x, y, truncate=4, initial_state=h0)))
        runs.append((f"{cell}-elman", lambda net=forward: net.run(x, y, recurrent_gradient=False)))
    final = engine.Network.random("gru", I, H, O, bidirectional=True, readout="final_state", seed=4)
    runs.append(("final-state", lambda: final.run(x, y[-1], lengths=lengths)))
    words = engine.Network.random("lstm", I, H, O, vocab_size=11, seed=6)
    ids = rng.integers(0, 11, size=(T, B))
    runs.append(("embedding", lambda: words.run(ids, y, loss_reduction="token_mean")))
    mse = engine.Network.random("rnn_tanh", I, H, O, seed=7)
    y_mse = rng.normal(size=(T, B, O))
    runs.append(("mse", lambda: mse.run(x, y_mse, loss="mse")))
    s2s = Seq2Seq.random("lstm", I, H, I - 1, seed=8)              # the decoder reads I − 1 outputs and <go>
    runs.append(("seq2seq", lambda: s2s.run_joined(x, y % (I - 1), encoder_steps=5)))
    for feed in FEEDS:
        jordan = FeedbackNetwork.random(I, H, O, feed=feed, alpha=0.6, seed=9)
        runs.append((f"feedback-{feed}", lambda jordan=jordan: jordan.run(x, y, "cross_entropy")))
    wide = engine.Network.random("gru_reset_before", I, 48, O, seed=11)      # T/8-step backward blocks
    x_wide, y_wide = rng.normal(size=(53, 8, I)), rng.integers(0, O, size=(53, 8))
    runs.append(("blocks-of-8", lambda: wide.run(x_wide, y_wide)))
    streamed = engine.Network.random("lstm_peephole", I, H, O, seed=10)

    def stream():
        run = streamed.steps(x, y)
        for _ in run:
            pass
        return run.trace
    runs.append(("streamed", stream))
    return runs


RUNS = _runs()


@pytest.mark.parametrize("name,run", RUNS, ids=[name for name, _ in RUNS])
def test_every_record_leased_uninitialised_is_written_in_full(pool, monkeypatch, name, run):
    monkeypatch.setattr(pool, "max_free_bytes", 0)
    reference = _arrays(run())                     # plain NumPy memory
    monkeypatch.setattr(pool, "max_free_bytes", 1 << 30)
    _same(reference, _arrays(run()))               # fresh pooled memory, NaN where leased uninitialised
    gc.collect()
    assert pool.free_bytes > 0
    _same(reference, _arrays(run()))               # the first pooled run's memory, NaN again


def test_a_held_trace_is_unchanged_by_later_runs(pool):
    net = engine.Network.random("lstm", 4, 6, 3, seed=1)
    rng = np.random.default_rng(1)
    x1, x2 = rng.normal(size=(2, 7, 2, 4))
    y = rng.integers(0, 3, size=(7, 2))
    held = net.run(x1, y)
    expected = {k: v.copy() for k, v in _arrays(held).items()}
    for _ in range(3):
        net.run(x2, y)
        gc.collect()
    _same(expected, _arrays(held))


def test_runs_in_threads_match_runs_in_turn(pool):
    net = engine.Network.random("gru", 4, 8, 3, num_layers=2, seed=2)
    rng = np.random.default_rng(2)
    inputs = [rng.normal(size=(12, 3, 4)) for _ in range(4)]
    y = rng.integers(0, 3, size=(12, 3))
    expected = [_arrays(net.run(x, y)) for x in inputs]
    results: dict[int, list] = {}

    def work(k: int) -> None:
        results[k] = [_arrays(net.run(x, y)) for x in inputs for _ in range(3)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k in range(3):
        for n, got in enumerate(results[k]):
            _same(expected[n // 3], got)


def test_backward_blocks_follow_the_scratch_per_step():
    """factor_block: tiny steps keep 32-step blocks; wider ones T/8 steps within [8, 32]."""
    from unrolled.engine.layer import factor_block
    assert factor_block(50, 1 * 4 * 16 * 4) == 32                 # LSTM B=1 H=16 float32
    assert factor_block(100, 32 * 4 * 128 * 4) == 12               # LSTM B=32 H=128 float32
    assert factor_block(53, 8 * 3 * 48 * 8) == 8
    assert factor_block(1000, 16 * 4 * 256 * 8) == 32


def test_a_lower_cap_drops_the_idle_memory_beyond_it():
    p = RecordPool(max_free_bytes=1 << 20, min_bytes=0)
    leases = [p.empty((n,), np.float64) for n in (1000, 2000, 4000)]    # 8, 16 and 32 kB
    del leases
    assert p.free_bytes == 56000
    p.set_limit(30000)
    assert p.free_bytes == 24000                      # the 32 kB buffer went first
    p.set_limit(0)
    assert p.free_bytes == 0
    a = p.empty((1000,), np.float64)
    assert a.flags.owndata                            # a zero cap bypasses the pool
