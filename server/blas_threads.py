"""How many threads NumPy's BLAS uses in a server process (``Settings.blas_threads``, ``UNROLLED_BLAS_THREADS``).

Unset, the BLAS library keeps its own default (OpenBLAS: one thread per core). Measured on 2 cores, the
setting is a trade-off. With chromium drawing a T = 1000 LSTM run (H = 64) beside the server, that run's
summary (the step Jacobians' norms: 1 000 eigenvalue problems of 128 × 128, 0.6 s on an idle machine)
arrived ~2.2 s after the last event with two BLAS threads and ~1.1 s with one, since a call split over two
threads keeps waiting on the one the OS has descheduled. Under 8 worst-case streams
(``benchmarks/gil_latency.py``) one thread raised the event loop's p99 reply time from ~50–60 ms to ~90–105 ms.
So the default stays the library's; a teacher running server and browser on one small laptop may set 1.
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
