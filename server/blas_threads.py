"""How many threads NumPy's BLAS uses in a server process (``Settings.blas_threads``, default 1).

The server shares the machine's cores between its event loop, up to ``max_streams`` engine runs and, on a
teacher's laptop, the browser drawing them. A BLAS call split over two threads then keeps waiting for
the one the OS has descheduled: on 2 cores, with chromium drawing a T = 1000 LSTM run (H = 64), that
run's summary (the step Jacobians' norms: 1 000 eigenvalue problems of 128 × 128, 0.6 s on an idle
machine) arrived ~2.2 s after the last event with OpenBLAS's default two threads and ~1.1 s with one;
the events themselves came no later. Parallelism comes from the streams the server runs at once.
Scripts and notebooks that import only the engine keep their BLAS default.
"""

from __future__ import annotations

import os

from threadpoolctl import threadpool_limits

# read by the BLAS libraries of the processes this one starts (the stream worker processes' forkserver)
ENV_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def limit_blas_threads(threads: int) -> None:
    """Use ``threads`` BLAS threads in this process (every BLAS library loaded, through threadpoolctl)
    and in the processes it starts from now on (their environment)."""
    if threads < 1:
        raise ValueError(f"blas_threads must be at least 1, not {threads}")
    for name in ENV_VARS:
        os.environ[name] = str(threads)
    threadpool_limits(limits=threads, user_api="blas")
