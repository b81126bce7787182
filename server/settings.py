"""Every server limit in one settings object, overridable from the environment.

Each field ``name`` is read from the variable ``UNROLLED_<NAME>`` (for example
``UNROLLED_MAX_SEQ_LEN=2000``) by ``Settings.from_env()``. An app gets its settings from
``create_app(settings)`` (default: ``Settings.from_env()``) and hands them to what needs them,
its request schemas' bounds included; no app reads a settings singleton (server.config.SCHEMA_SETTINGS
bounds only the default TraceConfig of code with no app: presets, the CLI).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

# Bounds written into the request schemas (TraceConfig, the socket messages, CompareRequest): the
# settings that differ only outside these share one config model (server.config.config_model).
SCHEMA_FIELDS = ("max_seq_len", "max_seq2seq_len", "max_hidden_size", "max_num_layers", "max_batch_size",
                 "max_units", "max_text_len", "max_vocab", "max_recurrent_scale", "max_delay_ms", "max_epochs",
                 "max_compare_runs")


@dataclass(frozen=True)
class Settings:
    """Bounds on configs and on the work one server process accepts.

    The product bound ``max_units`` (seq_len·batch·hidden·layers·directions)
    is what really caps memory, time and payload size. An LSTM records ~12
    floats (h, c, four gates and their gradients) per unit, so 2**16 units are
    ~6 MB of float64 records and at most ~25 MB of full-precision REST JSON.
    Measured on this machine kind: the costliest config inside the bounds (LSTM,
    hidden 256, T=256) runs in 0.2 s, its summary (per-step Jacobian SVDs) in
    ~4.3 s and its REST JSON encodes in ~2.5 s; at 2**17 units that doubled.
    """

    max_seq_len: int = 1000
    max_seq2seq_len: int = 32  # an encoder–decoder task reads a short sequence (its flow matrix costs seq_len runs)
    max_hidden_size: int = 256
    max_num_layers: int = 4
    max_batch_size: int = 64
    max_units: int = 65536  # seq_len * batch_size * hidden_size * num_layers * directions
    max_text_len: int = 10000
    max_vocab: int = 128  # distinct characters of a char_lm text (its output size)
    max_recurrent_scale: float = 10.0
    max_delay_ms: int = 10000
    max_epochs: int = 10000
    max_streams: int = 8  # engine runs at once (open socket streams + REST traces) per process
    # stream workers computing at the same moment (the rest wait their turn); 1 since issue 18: on 2 cores,
    # 8 worst-case streams, the event loop's p99 reply delay was 2-3x lower than with 2, at the same event rate
    compute_threads: int = 1
    # BLAS threads per server process (server.blas_threads); None: the BLAS library's own (OpenBLAS: one per core).
    # 1 helps a browser on the same 2 cores, and costs the event loop's tail latency under 8 worst-case streams
    blas_threads: int | None = None
    # a config's stream computes in a worker process, off the event loop's GIL (server.sockets.process_worker)
    stream_processes: bool = False
    gil_switch_ms: float = 1.0  # how long a busy thread keeps the GIL when the event loop wants it (Python: 5)
    max_queued: int = 256  # socket starts waiting (in order) for a stream slot; beyond, "busy"
    stream_idle_s: float = 900.0  # a stream left paused this long is closed (frees its slot)
    stream_prefetch: int = 64  # events computed ahead of the client (all of them while it plays at delay 0)
    # idle memory of dropped traces' records kept for the next runs (engine.record_pool; the engine's own
    # default, for scripts and notebooks, is 512 MB)
    record_pool_mb: float = 64.0
    max_trace_file_mb: int = 512  # `unrolled view` refuses bigger .npz files
    max_trace_unpacked_mb: int = 4096  # what a trace file's arrays may unpack to (a zip of zeros is tiny)
    max_message_bytes: int = 65536  # one client socket message (uvicorn closes with 1009 beyond ws_max_size)
    max_body_bytes: int = 1048576  # one HTTP request body (a config with the longest text is ~40 kB)
    # Bring your own model (POST /api/models, `unrolled view model.npz`) and comparisons
    max_model_mb: float = 32.0  # the arrays of one state dict (uncompressed), and of one input / targets file
    max_upload_mb: float = 96.0  # one POST /api/models body (base64 JSON of the three files)
    max_models: int = 8  # uploaded models kept per process (least recently used leaves first)
    max_store_mb: float = 256.0  # and their total weight (parameters + input + targets)
    max_spill_mb: float = 512.0  # uploads shared on disk between the worker processes (server.uploads.model_spill)
    max_arrays: int = 256  # arrays in one .npz
    max_io_size: int = 4096  # input_size and output_size of an uploaded model
    max_compare_runs: int = 4  # runs in one POST /api/compare
    # -- Host allow-list (server.security): names a request's Host may carry besides 127.0.0.1, localhost
    # and ::1. `unrolled serve --host H --allow-host N` puts H and N here (UNROLLED_ALLOWED_HOSTS=H,N).
    allowed_hosts: tuple[str, ...] = ()

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
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Defaults, overridden by ``UNROLLED_<FIELD>`` variables; bad values raise ValueError."""
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = env.get(f"UNROLLED_{f.name.upper()}")
            if raw is None:
                continue
            if f.name == "allowed_hosts":  # a comma-separated list of names
                values[f.name] = tuple(name.strip() for name in raw.split(",") if name.strip())
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

    def limits(self) -> dict[str, list[float]]:
        """The bounds the config table cannot state field by field (each field's own bounds travel in
        page_data.config_fields): the product of the sizes, an encoder–decoder's seq_len, the delay."""
        return {
            "units": [1, self.max_units],
            "seq2seq_len": [2, self.max_seq2seq_len],
            "delay_ms": [0, self.max_delay_ms],
        }

