"""A run's record with its analysis: `Trace` is the recorded arrays (engine.record) plus thin,
lazy properties that call engine.analysis; saving and loading it as .npz."""
from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .analysis.decay import vanishing_profile
from .analysis.diagnosis import Finding, diagnose, weight_spectra
from .analysis.flow import flow_matrix, gradient_norms
from .analysis.jacobians import jacobian_norms
from .analysis.summary import summarize
from .chain import Segment, check_chain, window_chain
from .events import Event, replay
from .losses import check_reduction
from .params import Architecture
from .readout import check_readout
from .record import TraceRecord
from .schedule import event_schedule

FORMAT_VERSION = 3          # 3: vocab_size and lengths; 2: the chain of segments; versions 1 and 2 still load


class Trace(TraceRecord):
    """Everything `Network.run` recorded (docs/DESIGN.md, section "Trace contract").

    Arrays are time-first. The derived facts (`gradient_norms`, `jacobian_norms`, `flow_matrix`,
    `vanishing`, …) are computed on first use from the records and the parameters by
    engine.analysis, so a trace loaded from disk has them too.
    """

    @property
    def gradient_norms(self) -> dict[str, np.ndarray]:
        """node → (T,) batch mean of ‖∂L/∂h_t‖ (total gradient)."""
        return gradient_norms(self)

    @property
    def jacobian_norms(self) -> dict[str, np.ndarray]:
        """node → (T,) batch mean of the spectral norm of ∂s_t/∂s_prev (s = h, or (h, c) with a cell
        state); NaN at the first processed step. Computed on first access (T·B small SVDs)."""
        return jacobian_norms(self)

    def flow_matrix(self, node: str, max_rows: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """(ks, M): M[j, t] = batch mean of ‖∂L_{ks[j]}/∂h_t‖ for the steps ks that carry a loss;
        at most `max_rows` rows (engine.analysis.flow.flow_matrix)."""
        return flow_matrix(self, node, max_rows)

    def vanishing(self, node: str) -> dict:
        """The vanishing-gradient plot of `node`: ‖∂L_k/∂h_t‖ against the distance |k − t| for the
        last loss step k (first for a reverse node), the fitted per-step factor and its bound."""
        return vanishing_profile(self, node)

    def summary(self) -> dict:
        """JSON-able (Python floats and lists; NaN/Inf stay floats) digest for plots."""
        return summarize(self)

    def diagnose(self, required_lag: int | None = None) -> list[Finding]:
        """`engine.diagnose(self, required_lag=…)`: the findings, problems first (`required_lag`
        defaults to `self.required_lag`)."""
        return diagnose(self, required_lag=required_lag)

    def weight_spectra(self) -> dict[str, dict[str, float]]:
        """`engine.weight_spectra(self)`: σ_max and spectral radii of every W_hh."""
        return weight_spectra(self)

    # -- the stream ----------------------------------------------------------------------------
    @property
    def schedule(self) -> dict:
        """The event schedule of this run's stream over its chain (engine.schedule)."""
        return event_schedule(self.num_layers, self.directions, self.stages)

    @property
    def event_count(self) -> int:
        """How many events the stream has: len(list(self.events()))."""
        return self.schedule["total"]

    def events(self) -> Iterator[Event]:
        """`engine.replay(self)`: every event of the run, in the schedule's order."""
        return replay(self)

    # -- persistence -------------------------------------------------------------------------
    def saved_meta(self) -> dict:
        """Extra JSON facts `save` writes into the file's meta (a subclass's own; none for a chain)."""
        return {}

    def save(self, path: str | Path | BinaryIO, compress: bool = False) -> None:
        """Write the trace to `path` (or a binary file object) as .npz (plain arrays, loadable with
        allow_pickle=False). Uncompressed by default: saving a large trace is then quick (a 144 MB
        trace took seconds to compress); `compress=True` writes a smaller file slowly."""
        arrays: dict[str, np.ndarray] = {
            "meta": np.array(json.dumps({
                "version": FORMAT_VERSION, "cell": self.cell, "input_size": self.input_size,
                "hidden_size": self.hidden_size, "output_size": self.output_size,
                "num_layers": self.num_layers, "bidirectional": self.bidirectional, "vocab_size": self.vocab_size,
                "reverse_layers": list(self.reverse_layers),
                "loss_type": self.loss_type, "loss": float(self.loss),
                "readout": self.arch.readout, "loss_reduction": self.loss_reduction,
                "bptt_window": self.bptt_window,
                "chain": [{"name": seg.name, "start": seg.start, "stop": seg.stop, "emits": seg.emits,
                           "weights": seg.weights, "handoff": seg.handoff} for seg in self.chain],
                **self.saved_meta()})),
            "x": self.x, "targets": self.targets, "mask": self.mask, "loss_t": self.loss_t,
        }
        if self.lengths is not None:
            arrays["lengths"] = self.lengths
        for prefix, table in (("param", self.params), ("act", self.activations), ("grad", self.grads),
                              ("gradient", self.gradients), ("contrib", self.grad_contributions),
                              ("init", self.initial_state), ("initgrad", self.initial_state_grads),
                              ("finalgrad", self.final_state_grads)):
            for name, value in table.items():
                arrays[f"{prefix}/{name}"] = value
        write = np.savez_compressed if compress else np.savez
        if hasattr(path, "write"):
            write(path, **arrays)
            return
        with open(path, "wb") as f:
            write(f, **arrays)


def load_trace(path: str | Path, max_bytes: int | None = None) -> Trace:
    """Read a trace written by `Trace.save` (never unpickles); ValueError if it is not one, or if its
    arrays would unpack to more than `max_bytes` (checked from the archive's directory, before reading:
    a small compressed file can hold gigabytes of zeros)."""
    if max_bytes is not None:
        unpacked = _unpacked_bytes(path)
        if unpacked > max_bytes:
            raise ValueError(f"its arrays unpack to {unpacked / 2**20:.0f} MB; the limit is "
                             f"{max_bytes / 2**20:.0f} MB")
    try:
        with np.load(path, allow_pickle=False) as data:
            files = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"not a trace file: {exc}") from exc
    if "meta" not in files:
        raise ValueError("not a trace file: no 'meta' entry")
    try:
        meta = json.loads(str(files.pop("meta")))
        vocab = meta.get("vocab_size")
        arch = Architecture(meta["cell"], meta["input_size"], meta["hidden_size"], meta["output_size"],
                            meta["num_layers"], meta["bidirectional"], None if vocab is None else int(vocab),
                            check_readout(meta.get("readout", "per_step")),
                            reverse_layers=tuple(int(k) for k in meta.get("reverse_layers", ())))
        x = files.pop("x")
        if "chain" in meta:
            chain = check_chain([Segment(**seg) for seg in meta["chain"]], x.shape[0])
        else:                                          # version 1: a plain run, perhaps truncated
            chain = window_chain(x.shape[0], int(meta["bptt_window"])) if meta.get("bptt_window") else None
        loss_t = files.pop("loss_t")
        lengths = files.pop("lengths", None)
        if lengths is not None:
            lengths = lengths.astype(np.int64)
            if lengths.shape != (x.shape[1],) or (lengths < 1).any() or (lengths > x.shape[0]).any():
                raise ValueError(f"lengths {lengths.tolist()} do not fit x of shape {x.shape}")
        trace = Trace(arch, meta["loss_type"], x, files.pop("targets"), files.pop("mask"), {}, chain,
                      dtype=loss_t.dtype, lengths=lengths)
        trace.loss_t = loss_t
        trace.loss_reduction = check_reduction(meta.get("loss_reduction", "step_mean"))
        trace.loss = float(meta["loss"])
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a trace file: bad metadata ({exc})") from exc
    tables = {"param": trace.params, "act": trace.activations, "grad": trace.grads,
              "gradient": trace.gradients, "contrib": trace.grad_contributions,
              "init": trace.initial_state, "initgrad": trace.initial_state_grads,
              "finalgrad": trace.final_state_grads}
    for key, value in files.items():
        prefix, _, name = key.partition("/")
        if prefix not in tables:
            raise ValueError(f"not a trace file: unexpected entry {key!r}")
        tables[prefix][name] = value
    expected = set(arch.shapes(trace.chain))
    if set(trace.params) != expected:
        raise ValueError(f"trace parameters do not match a {arch.cell} network: "
                         f"{sorted(expected ^ set(trace.params))}")
    return trace



def _unpacked_bytes(path: str | Path) -> int:
    """The total uncompressed size the .npz archive declares (reading never yields more than that)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"not a trace file: {exc}") from exc
