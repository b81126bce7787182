"""The server runs NumPy's BLAS on `blas_threads` threads (UNROLLED_BLAS_THREADS, default 1): in its own
process, through threadpoolctl, and in the processes it starts (the stream workers), through their
environment. Scripts that import only the engine keep their BLAS default."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_info

from unrolled.server.app import create_app
from unrolled.server.blas_threads import ENV_VARS
from unrolled.server.settings import Settings

PROBE = ("import json, numpy, threadpoolctl; "
         "print(json.dumps([i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas']))")


def blas_threads() -> list[int]:
    """The thread count of every BLAS library loaded in this process."""
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def child_blas_threads(env: dict[str, str]) -> list[int]:
    """The BLAS thread counts a new Python process started with `env` reports."""
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.fixture
def restore_default():
    """Back to the server default (what importing unrolled.server.app set) after the test."""
    yield
    create_app(Settings())


def test_the_app_sets_its_blas_threads_here_and_for_the_processes_it_starts(restore_default):
    create_app(Settings(blas_threads=2))
    assert blas_threads() and set(blas_threads()) == {2}
    assert all(os.environ[name] == "2" for name in ENV_VARS)
    assert set(child_blas_threads(dict(os.environ))) == {2}
    create_app(Settings.from_env({"UNROLLED_BLAS_THREADS": "1"}))
    assert set(blas_threads()) == {1}
    assert set(child_blas_threads(dict(os.environ))) == {1}
    assert Settings().blas_threads == 1


def test_the_engine_alone_keeps_the_blas_default():
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    plain = child_blas_threads(env)                       # numpy alone: OpenBLAS takes every core
    code = "import unrolled.engine, unrolled.server.notebook; " + PROBE
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == plain
    if (os.cpu_count() or 1) > 1:
        assert max(plain) > 1


def test_a_bad_value_names_its_variable():
    with pytest.raises(ValueError, match="UNROLLED_BLAS_THREADS"):
        Settings.from_env({"UNROLLED_BLAS_THREADS": "0"})
    with pytest.raises(ValueError, match="blas_threads"):
        create_app(Settings(blas_threads=0))
