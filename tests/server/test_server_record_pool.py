"""The server caps the engine's record pool (idle memory of dropped traces' records) at its own
setting, `record_pool_mb` (UNROLLED_RECORD_POOL_MB), below the engine's default for scripts."""
from __future__ import annotations

import gc

import numpy as np
import pytest

from unrolled import engine
from unrolled.engine import record_pool
from unrolled.server.app import create_app
from unrolled.server.settings import Settings


@pytest.fixture
def restore_pool():
    """Put the engine's default cap back after the test."""
    yield
    record_pool.set_max_free_bytes(record_pool.DEFAULT_MAX_FREE_BYTES)


def test_the_app_sets_the_pool_cap_from_its_settings(restore_pool):
    create_app(Settings(record_pool_mb=3))
    assert record_pool.POOL.max_free_bytes == 3 * 2**20
    create_app(Settings.from_env({"UNROLLED_RECORD_POOL_MB": "0.5"}))
    assert record_pool.POOL.max_free_bytes == 2**19
    assert Settings().record_pool_mb * 2**20 < record_pool.DEFAULT_MAX_FREE_BYTES


def test_dropped_traces_never_leave_more_idle_memory_than_the_cap(restore_pool):
    net = engine.Network.random("gru", 8, 96, 4, seed=1)
    net.run(np.zeros((80, 16, 8)), np.zeros((80, 16), dtype=np.int64))     # idle memory under the default cap
    gc.collect()
    create_app(Settings(record_pool_mb=1))
    assert record_pool.POOL.free_bytes <= 2**20                   # trimmed at once
    net = engine.Network.random("lstm", 8, 64, 4, seed=0)
    x = np.random.default_rng(0).normal(size=(60, 16, 8))       # ~1 MB gate records: pooled
    y = np.zeros((60, 16), dtype=np.int64)
    for _ in range(3):
        net.run(x, y)
        gc.collect()
        assert 0 < record_pool.POOL.free_bytes <= 2**20


def test_a_bad_value_names_its_variable():
    with pytest.raises(ValueError, match="UNROLLED_RECORD_POOL_MB"):
        Settings.from_env({"UNROLLED_RECORD_POOL_MB": "lots"})
