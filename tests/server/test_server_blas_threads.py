"""`blas_threads` (UNROLLED_BLAS_THREADS) sets NumPy's BLAS threads in the server process, through
threadpoolctl, and in the processes it starts, through their environment. Unset (the default), the app
leaves the BLAS library's own; scripts that import only the engine never change it."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

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
def restore_blas():
    """Put this process's BLAS threads and environment back as they were after the test."""
    threads, env = blas_threads(), {name: os.environ.get(name) for name in ENV_VARS}
    yield
    threadpool_limits(limits=max(threads), user_api="blas")
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def test_the_app_sets_its_blas_threads_here_and_for_the_processes_it_starts(restore_blas):
    create_app(Settings(blas_threads=1))
    assert blas_threads() and set(blas_threads()) == {1}
    assert all(os.environ[name] == "1" for name in ENV_VARS)
    assert set(child_blas_threads(dict(os.environ))) == {1}
    create_app(Settings.from_env({"UNROLLED_BLAS_THREADS": "2"}))
    assert set(blas_threads()) == {2}
    assert set(child_blas_threads(dict(os.environ))) == {2}


def test_by_default_the_app_leaves_the_blas_library_its_own(restore_blas):
    assert Settings().blas_threads is None
    threadpool_limits(limits=1, user_api="blas")
    create_app(Settings())
    assert set(blas_threads()) == {1}   # untouched


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
