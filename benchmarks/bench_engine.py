"""Time engine.Network.run (which records everything) against torch forward+backward of the same model.

Run by hand (never a timed test):

    .venv/bin/python benchmarks/bench_engine.py            # the full table (several minutes)
    .venv/bin/python benchmarks/bench_engine.py --quick    # < 1 minute
    .venv/bin/python benchmarks/bench_engine.py --sizes 100,32,32,128 --cells lstm --threads 2

Both sides see the same weights (the torch module's state dict is loaded into the engine), the same
inputs and the same loss (cross-entropy summed over time, mean over the batch). Thread counts are set
in-process: torch.set_num_threads for torch and openblas_set_num_threads (through ctypes, on the
OpenBLAS that numpy loaded) for the engine. The torch side times forward + loss + backward; the
engine side times net.run, which also records every activation, gradient and contribution
(its lazy Jacobian norms and flow matrices are not computed). Between the engine's timed runs the
dropped traces' memory is reused (engine.record_pool), as in any loop of runs; the peak column is
measured with that pool emptied first, so it is what a run needs from fresh memory.
"""

from __future__ import annotations

import argparse
import ctypes
import glob
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from unrolled import engine  # noqa: E402
from unrolled.engine import record_pool  # noqa: E402

FULL_SIZES = [(50, 1, 8, 16), (100, 32, 32, 128), (1000, 16, 64, 256)]
QUICK_SIZES = [(50, 1, 8, 16), (100, 32, 32, 128)]
OUTPUT_SIZE = 10
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}
TRACE_ATTRS = ("x", "targets", "mask", "loss_t", "grads", "activations", "gradients",
               "grad_contributions", "params", "gradient_norms", "input_grads", "initial_state",
               "initial_state_grads", "final_state_grads", "output_grads")


def _openblas():
    """The OpenBLAS library numpy loaded (ctypes handle) and its symbol suffix, or (None, '')."""
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs", "*openblas*"))
    for path in libs:
        lib = ctypes.CDLL(path)
        for prefix, suffix in (("scipy_openblas_", "64_"), ("openblas_", ""), ("scipy_openblas_", "")):
            if hasattr(lib, f"{prefix}set_num_threads{suffix}"):
                return lib, prefix, suffix
    return None, "", ""


BLAS, BLAS_PREFIX, BLAS_SUFFIX = _openblas()


def blas_info() -> str:
    """Which BLAS numpy uses, its kernel (core) and the env variables that change it."""
    config = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {})
    text = f"numpy {np.__version__}, BLAS {config.get('name', '?')} {config.get('version', '')}"
    if BLAS is not None:
        corename = getattr(BLAS, f"{BLAS_PREFIX}get_corename{BLAS_SUFFIX}")
        corename.restype = ctypes.c_char_p
        text += f", kernel {corename().decode()}"
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_"))}
    return text + (f", env {env}" if env else "") + f"; torch {torch.__version__}"


def set_threads(n: int) -> str:
    """Set both libraries to n threads; returns what they report back."""
    torch.set_num_threads(n)
    if BLAS is None:
        return f"torch {torch.get_num_threads()}, numpy BLAS threads NOT controlled"
    getattr(BLAS, f"{BLAS_PREFIX}set_num_threads{BLAS_SUFFIX}")(n)
    numpy_threads = getattr(BLAS, f"{BLAS_PREFIX}get_num_threads{BLAS_SUFFIX}")()
    return f"torch {torch.get_num_threads()}, numpy BLAS {numpy_threads}"


def build_models(cell: str, I: int, H: int, dtype_name: str, seed: int = 0):
    """torch RNN/LSTM/GRU + Linear head, and the engine network with the same weights."""
    torch.manual_seed(seed)
    dtype = TORCH_DTYPES[dtype_name]
    kwargs = dict(input_size=I, hidden_size=H, dtype=dtype)
    if cell.startswith("rnn"):
        rnn = torch.nn.RNN(nonlinearity=cell[4:], **kwargs)
    else:
        rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](**kwargs)
    head = torch.nn.Linear(H, OUTPUT_SIZE, dtype=dtype)
    state = {k: v.detach().numpy().copy() for k, v in rnn.state_dict().items()}
    state.update({f"head.{k}": v.detach().numpy().copy() for k, v in head.state_dict().items()})
    net = engine.Network.from_state_dict(state, cell=cell, num_layers=1, bidirectional=False,
                                         dtype=np.dtype(dtype_name).type)
    return rnn, head, net


def paired_medians(fn_a, fn_b, budget: float, min_reps: int, max_reps: int,
                   settle: float = 0.0, apart: bool = False) -> tuple[float, float]:
    """Median wall times of fn_a and fn_b, run alternately (after a warm-up of each) so that a
    change in machine load hits both sides alike. `settle` seconds of sleep before each timed call
    let the other side's idle worker threads stop spinning (torch's OpenMP and numpy's OpenBLAS
    threads busy-wait for several ms after their last parallel region, on the same two cores).
    `apart`: each side's runs back to back instead (all of fn_a, then all of fn_b), as a program
    using only one of them would run."""
    if apart:
        return (_median_of(fn_a, budget / 2, min_reps, max_reps),
                _median_of(fn_b, budget / 2, min_reps, max_reps))
    fn_a()
    fn_b()
    times_a: list[float] = []
    times_b: list[float] = []
    start = time.perf_counter()
    while len(times_a) < max_reps and (len(times_a) < min_reps or time.perf_counter() - start < budget):
        for fn, times in ((fn_a, times_a), (fn_b, times_b)):
            if settle:
                time.sleep(settle)
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(times_a), statistics.median(times_b)


def _median_of(fn, budget: float, min_reps: int, max_reps: int) -> float:
    """Median wall time of fn repeated back to back (after two warm-up calls)."""
    fn()
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def trace_nbytes(trace) -> int:
    """Sum of nbytes of every array the trace holds after run(): its records (a gate's record is a view
    of its direction's gate block, counted once through the views) and the cell-private records it keeps
    for the analysis (an LSTM's tanh(c_t), a GRU's W_hn h_{t−1} + b_hn)."""
    total = 0
    for attr in TRACE_ATTRS:
        value = getattr(trace, attr, None)
        values = value.values() if isinstance(value, dict) else [value]
        total += sum(np.asarray(v).nbytes for v in values if v is not None)
    for private in getattr(trace, "_private", {}).values():
        total += sum(v.nbytes for name, v in private.items() if name != "act" and v is not None)
    return total


def bench_one(cell: str, size: tuple[int, int, int, int], dtype_name: str, budget: float,
              min_reps: int, max_reps: int, settle: float = 0.0, apart: bool = False) -> dict:
    """Time one (cell, size, dtype) on both sides; returns the row of the table."""
    T, B, I, H = size
    rnn, head, net = build_models(cell, I, H, dtype_name)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(T, B, I)).astype(dtype_name)
    y = rng.integers(0, OUTPUT_SIZE, size=(T, B))
    xt, yt = torch.tensor(x), torch.tensor(y)

    def torch_step():
        rnn.zero_grad(set_to_none=True)
        head.zero_grad(set_to_none=True)
        out, _ = rnn(xt)                                               # (T, B, H)
        logits = head(out)                                             # (T, B, O)
        # sum over t of the batch-mean cross-entropy (every step has targets)
        loss = F.cross_entropy(logits.reshape(T * B, OUTPUT_SIZE), yt.reshape(-1), reduction="sum") / B
        loss.backward()

    def engine_step():
        net.run(x, y, loss="cross_entropy")

    torch_s, engine_s = paired_medians(torch_step, engine_step, budget, min_reps, max_reps, settle, apart)
    record_pool.POOL.clear()            # the peak of a run whose records come fresh, not from the pool
    tracemalloc.start()
    trace = net.run(x, y, loss="cross_entropy")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"cell": cell, "size": size, "dtype": dtype_name, "torch_s": torch_s, "engine_s": engine_s,
            "trace_mb": trace_nbytes(trace) / 2**20, "peak_mb": peak / 2**20}


def parse_sizes(text: str) -> list[tuple[int, int, int, int]]:
    """'T,B,I,H;T,B,I,H' -> list of tuples."""
    return [tuple(int(v) for v in part.split(",")) for part in text.split(";") if part.strip()]


def main(argv: list[str] | None = None) -> None:
    """Parse flags, run the grid, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="two small sizes, float32+float64, < 1 minute")
    parser.add_argument("--sizes", type=parse_sizes, help="'T,B,I,H;...' (default: the issue's three sizes)")
    parser.add_argument("--cells", default="rnn_tanh,lstm,gru")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--budget", type=float, help="seconds of repetitions per measurement")
    parser.add_argument("--settle", type=float, default=0.0,
                        help="seconds of sleep before each timed call, so neither side starts while the "
                             "other's worker threads still spin (default 0: back to back)")
    parser.add_argument("--apart", action="store_true",
                        help="time each side's runs together (all torch, then all engine) instead of alternating")
    args = parser.parse_args(argv)

    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    budget = args.budget if args.budget is not None else (0.1 if args.quick else 2.0)
    min_reps, max_reps = (2, 5) if args.quick else (5, 50)
    print(blas_info())
    # the machine may be shared: the load average says how much to trust 2-thread figures
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}, "
          + ("each side's runs together" if args.apart else f"alternating, settle {args.settle:g} s"))
    header = (f"{'thr':>3} {'cell':<8} {'T,B,I,H':<17} {'dtype':<7} {'torch ms':>10} {'engine ms':>10} "
              f"{'eng/torch':>9} {'trace MB':>9} {'peak MB':>8}")
    for threads in (int(v) for v in args.threads.split(",")):
        print(f"\nthreads: {set_threads(threads)}")
        print(header)
        for size in sizes:
            for cell in args.cells.split(","):
                for dtype_name in args.dtypes.split(","):
                    row = bench_one(cell, size, dtype_name, budget, min_reps, max_reps, args.settle, args.apart)
                    print(f"{threads:>3} {cell:<8} {','.join(map(str, size)):<17} {dtype_name:<7} "
                          f"{row['torch_s'] * 1e3:>10.2f} {row['engine_s'] * 1e3:>10.2f} "
                          f"{row['engine_s'] / row['torch_s']:>8.2f}x {row['trace_mb']:>9.1f} "
                          f"{row['peak_mb']:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
