"""Reuses the memory of records that nothing holds any more for the next run's records (issue 17).

A run allocates its (T, B, ·) records fresh; at T = 1000 that is hundreds of MB, and the kernel
zero-fills and maps every page of it on first touch: 10–25 % of an LSTM run's time. A trace the
caller has dropped (a training loop, a benchmark, the server re-running a model) leaves exactly the
memory the next run of that size needs. `zeros` hands out records backed by a pooled byte buffer;
when the last view of a record is gone, the buffer goes back to the pool, up to `max_free_bytes`
kept idle, and the next request of that size gets it zeroed by one memset instead of fresh pages.

A record stays valid as long as anything refers to it or to a view of it: the buffer returns only
when the array that owns the record's view of it is collected (a weakref finalizer on it; NumPy
points every view of that array at it, because its own base is a memoryview, not an array).
"""
from __future__ import annotations

import threading
import weakref

import numpy as np

MIN_POOLED_BYTES = 256 << 10         # malloc maps larger blocks fresh (faulting every page); smaller ones it reuses
DEFAULT_MAX_FREE_BYTES = 512 << 20   # idle memory the pool may keep for the next run


class RecordPool:
    """Byte buffers of dropped records, by size, for the next records of the same size."""

    def __init__(self, max_free_bytes: int = DEFAULT_MAX_FREE_BYTES, min_bytes: int = MIN_POOLED_BYTES) -> None:
        self.max_free_bytes = max_free_bytes
        self.min_bytes = min_bytes                       # smaller requests go to NumPy directly
        self.poison = False                              # tests: `empty` hands out reused memory full of NaN
        self._free: dict[int, list[np.ndarray]] = {}     # nbytes → idle uint8 buffers
        self._free_bytes = 0
        self._lock = threading.RLock()                   # a finalizer can run inside a locked section (GC)

    @property
    def free_bytes(self) -> int:
        """Bytes the pool holds that no record uses."""
        return self._free_bytes

    def zeros(self, shape: tuple[int, ...], dtype) -> np.ndarray:
        """np.zeros(shape, dtype), backed by a pooled buffer when it is at least `min_bytes`."""
        return self._lease(shape, np.dtype(dtype), zeroed=True)

    def empty(self, shape: tuple[int, ...], dtype) -> np.ndarray:
        """np.empty(shape, dtype) likewise: for a record or scratch array the caller overwrites entirely."""
        return self._lease(shape, np.dtype(dtype), zeroed=False)

    def _lease(self, shape: tuple[int, ...], dtype: np.dtype, zeroed: bool) -> np.ndarray:
        count = 1
        for n in shape:
            count *= int(n)
        nbytes = count * dtype.itemsize
        if nbytes < max(self.min_bytes, 1) or self.max_free_bytes <= 0:
            return np.zeros(shape, dtype=dtype) if zeroed else np.empty(shape, dtype=dtype)
        raw = self._take(nbytes)
        if raw is None:
            raw = np.zeros(nbytes, dtype=np.uint8)       # calloc: pages arrive zeroed on first touch
        elif zeroed:
            raw.fill(0)
        owner = np.frombuffer(memoryview(raw), dtype=dtype, count=count)
        if self.poison and not zeroed and dtype.kind in "fc":
            owner.fill(np.nan)
        finalizer = weakref.finalize(owner, self._give_back, raw)
        finalizer.atexit = False
        return owner.reshape(shape)

    def clear(self) -> None:
        """Drop every idle buffer (their memory goes back to the allocator)."""
        with self._lock:
            self._free.clear()
            self._free_bytes = 0

    def set_limit(self, max_free_bytes: int) -> None:
        """A new cap on idle memory; idle buffers beyond it are dropped at once (largest first)."""
        with self._lock:
            self.max_free_bytes = max(0, int(max_free_bytes))
            for nbytes in sorted(self._free, reverse=True):
                buffers = self._free[nbytes]
                while buffers and self._free_bytes > self.max_free_bytes:
                    buffers.pop()
                    self._free_bytes -= nbytes
                if not buffers:
                    del self._free[nbytes]

    def _take(self, nbytes: int) -> np.ndarray | None:
        with self._lock:
            buffers = self._free.get(nbytes)
            if not buffers:
                return None
            raw = buffers.pop()
            self._free_bytes -= nbytes
            return raw

    def _give_back(self, raw: np.ndarray) -> None:
        with self._lock:
            if self._free_bytes + raw.nbytes > self.max_free_bytes:
                return                                   # over the cap: let the allocator have it
            self._free.setdefault(raw.nbytes, []).append(raw)
            self._free_bytes += raw.nbytes


POOL = RecordPool()


def zeros(shape: tuple[int, ...], dtype) -> np.ndarray:
    """A zeroed record from the process-wide pool (see RecordPool.zeros)."""
    return POOL.zeros(shape, dtype)


def empty(shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised record from the process-wide pool (see RecordPool.empty)."""
    return POOL.empty(shape, dtype)


def empty_like(values: np.ndarray) -> np.ndarray:
    """empty(values.shape, values.dtype)."""
    return POOL.empty(values.shape, values.dtype)


def set_max_free_bytes(limit: int) -> None:
    """How much idle record memory the process keeps for the next run (0: none, records come fresh)."""
    POOL.set_limit(limit)
