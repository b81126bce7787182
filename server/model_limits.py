"""Bounds on bring-your-own-model uploads and on comparisons, overridable from the environment.

Each field ``name`` is read from ``UNROLLED_<NAME>`` (e.g. ``UNROLLED_MAX_MODEL_MB=64``) when this
module is imported. The trace limits themselves (sequence length, hidden size, layers, batch, units)
are those of ``server.settings``: an uploaded model and its input must fit them like any config.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class ModelLimits:
    """How much a user's model may weigh, how many this process keeps, and how much a compare may run."""

    max_model_mb: float = 32.0       # the arrays of one state dict (uncompressed), and of one input / targets file
    max_upload_mb: float = 96.0      # one POST /api/models body (base64 JSON of the three files)
    max_models: int = 8              # uploaded models kept per process (least recently used leaves first)
    max_store_mb: float = 256.0      # and their total weight (parameters + input + targets)
    max_spill_mb: float = 512.0      # uploads shared on disk between the worker processes (server.model_spill)
    max_arrays: int = 256            # arrays in one .npz
    max_io_size: int = 4096          # input_size and output_size of an uploaded model
    max_compare_runs: int = 4        # runs in one POST /api/compare

    @property
    def max_model_bytes(self) -> int:
        """max_model_mb in bytes."""
        return int(self.max_model_mb * 2**20)

    @property
    def max_upload_bytes(self) -> int:
        """max_upload_mb in bytes."""
        return int(self.max_upload_mb * 2**20)

    @property
    def max_store_bytes(self) -> int:
        """max_store_mb in bytes."""
        return int(self.max_store_mb * 2**20)

    @property
    def max_spill_bytes(self) -> int:
        """max_spill_mb in bytes."""
        return int(self.max_spill_mb * 2**20)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "ModelLimits":
        """Defaults, overridden by ``UNROLLED_<FIELD>`` variables; bad values raise ValueError."""
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = env.get(f"UNROLLED_{f.name.upper()}")
            if raw is None:
                continue
            kind = float if isinstance(f.default, float) else int
            try:
                value = kind(raw)
            except ValueError:
                raise ValueError(f"UNROLLED_{f.name.upper()}={raw!r} is not a {kind.__name__}") from None
            if value <= 0:
                raise ValueError(f"UNROLLED_{f.name.upper()} must be positive")
            values[f.name] = value
        return cls(**values)


model_limits = ModelLimits.from_env()
