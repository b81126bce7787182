"""`unrolled view` is a process of the user's own (issue 21): its size limits come from the machine,
not from the shared server's defaults. A limit the user set with its UNROLLED_* variable stays."""
from __future__ import annotations

import dataclasses
import os

from unrolled.server.settings import Settings

BYTES_PER_UNIT = 400        # a float64 LSTM trace records ~40 numbers per unit (T·B·H·L·D), with room for the analysis
MACHINE_SHARE = 0.25        # at most this share of the machine's memory for one trace


def machine_memory() -> int:
    """The machine's physical memory in bytes (8 GiB when the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def local_settings(settings: Settings, environ: dict[str, str] | None = None, memory: int | None = None) -> Settings:
    """`settings` with the size limits a local viewer can afford on this machine (never below the
    shared defaults); limits set through their environment variables are kept as set."""
    env = os.environ if environ is None else environ
    memory = machine_memory() if memory is None else memory
    units = max(settings.max_units, int(memory * MACHINE_SHARE / BYTES_PER_UNIT))
    grown = {"max_units": units, "max_seq_len": max(settings.max_seq_len, units // 16),
             "max_batch_size": max(settings.max_batch_size, 4096),
             "max_model_mb": max(settings.max_model_mb, memory * MACHINE_SHARE / 2**20)}
    kept = {name: value for name, value in grown.items() if setting_variable(name) not in env}
    return dataclasses.replace(settings, **kept)


def setting_variable(name: str) -> str:
    """The environment variable of a setting: max_units → UNROLLED_MAX_UNITS."""
    return f"UNROLLED_{name.upper()}"
