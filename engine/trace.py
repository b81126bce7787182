"""The record of one run: every activation and gradient at every timestep, and what derives from them."""
from __future__ import annotations

import json
import zipfile
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .cells import get_cell
from .layer import LayerRecord
from .params import Architecture, ArchitectureFacts

FORMAT_VERSION = 1


class Trace(ArchitectureFacts):
    """Everything `Network.run` recorded (see DESIGN.md §2 for the attribute contract).

    Arrays are time-first. `jacobian_norms`, `flow_matrix` and `vanishing` are computed lazily
    on first use from the records and the parameters, so a trace loaded from disk has them too.
    """

    def __init__(self, arch: Architecture, loss_type: str, x: np.ndarray, targets: np.ndarray,
                 mask: np.ndarray, params: dict[str, np.ndarray]) -> None:
        self.arch = arch
        self.loss_type = loss_type
        self.x = x                                     # (T, B, I)
        self.targets = targets                         # (T, B) ints or (T, B, O) floats
        self.mask = mask                               # (T, B) bool
        self.params = params                           # the state dict the run used
        self.activations: dict[str, np.ndarray] = {}
        self.gradients: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.grad_contributions: dict[str, np.ndarray] = {}
        self.initial_state: dict[str, np.ndarray] = {}         # h(−1) (and c(−1)) per node when not zeros
        self.initial_state_grads: dict[str, np.ndarray] = {}   # ∂L/∂h(−1), ∂L/∂c(−1) per node, (B, H)
        self.final_state_grads: dict[str, np.ndarray] = {}     # gradient that arrived from outside at the last state
        self.bptt_window: int | None = None                     # k: BPTT only inside windows of k steps (1: Elman)
        self.loss_t = np.zeros(x.shape[0], dtype=x.dtype)
        self.loss = 0.0
        self._flow_cache: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
        self._private: dict[str, dict[str, np.ndarray]] = {}   # per direction: gate block array, cell-private records

    # -- shape facts -------------------------------------------------------------------------
    recurrent_gradient = property(lambda self: self.bptt_window != 1, doc="False for Elman's context units")
    T = property(lambda self: self.x.shape[0], doc="timesteps")
    B = property(lambda self: self.x.shape[1], doc="batch size")
    dtype = property(lambda self: self.x.dtype, doc="compute dtype")

    def layer_record(self, layer: int, direction: int) -> LayerRecord:
        """The forward record of one layer/direction, as the backward pass and the Jacobians need it.
        A trace loaded from disk rebuilds the cell-private records (Cell.rebuild_extras) here."""
        s = f"_l{layer}{self.arch.suffix(direction)}"
        cell = get_cell(self.cell)
        h = self.activations[f"h{s}"]
        rec = LayerRecord(bool(direction), h, None, self.activations.get(f"c{s}"),
                          h0=self.initial_state.get(f"h{s}"), c0=self.initial_state.get(f"c{s}"))
        if s not in self._private:
            private: dict[str, np.ndarray] = {}
            if cell.gates:
                private["act"] = np.concatenate([self.activations[f"{g}{s}"] for g in cell.gates], axis=-1)
            private.update(cell.rebuild_extras(rec.h_prev_all(), private.get("act"), rec.c,
                                               self.params[f"weight_hh{s}"], self.params[f"bias_hh{s}"]))
            self._private[s] = private
        rec.act = self._private[s].get("act")
        rec.extra = {k: v for k, v in self._private[s].items() if k != "act"}
        return rec

    # -- derived quantities ------------------------------------------------------------------
    @cached_property
    def gradient_norms(self) -> dict[str, np.ndarray]:
        """node → (T,) batch mean of ‖∂L/∂h_t‖ (total gradient)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return {n: np.linalg.norm(self.gradients[n], axis=-1).mean(axis=-1) for n in self.node_names}

    @cached_property
    def jacobian_norms(self) -> dict[str, np.ndarray]:
        """node → (T,) batch mean of the spectral norm of ∂s_t/∂s_prev (s = h, or (h, c) for an LSTM);
        NaN at the first processed step. Computed lazily on first access (T·B small SVDs)."""
        from .vanishing import jacobian_norms
        return jacobian_norms(self)

    def flow_matrix(self, node: str, max_rows: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """(ks, M): M[j, t] = batch mean of ‖∂L_{ks[j]}/∂h_t‖ for the steps ks that carry a loss.
        Lazy and cached; for long sequences ks is an even subsample (endpoints kept) of at most
        `max_rows` steps, fewer when the work would be large (see vanishing.flow_rows)."""
        from .vanishing import flow_norms, flow_rows
        if node not in self.node_names:
            raise ValueError(f"unknown node {node!r}; nodes are {', '.join(self.node_names)}")
        if max_rows not in self._flow_cache:
            ks = flow_rows(self, max_rows)
            self._flow_cache[max_rows] = (ks, flow_norms(self, ks))
        ks, table = self._flow_cache[max_rows]
        return ks, table[node]

    def vanishing(self, node: str) -> dict:
        """The vanishing-gradient plot of `node`: ‖∂L_k/∂h_t‖ against the distance |k − t| for the
        last loss step k (first for a reverse node), the fitted per-step factor and its bound."""
        from .vanishing import vanishing_profile
        return vanishing_profile(self, node)

    def summary(self) -> dict:
        """JSON-able (Python floats and lists; NaN/Inf stay floats) digest for plots."""
        from .vanishing import summarize
        return summarize(self)

    def diagnose(self) -> list:
        """`engine.diagnose(self)`: the findings, problems first."""
        from .diagnosis import diagnose
        return diagnose(self)

    def weight_spectra(self) -> dict[str, dict[str, float]]:
        """`engine.weight_spectra(self)`: σ_max and spectral radii of every W_hh."""
        from .diagnosis import weight_spectra
        return weight_spectra(self)

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: str | Path | BinaryIO) -> None:
        """Write the trace to `path` (or a binary file object) as .npz (plain arrays, loadable with
        allow_pickle=False)."""
        arrays: dict[str, np.ndarray] = {
            "meta": np.array(json.dumps({
                "version": FORMAT_VERSION, "cell": self.cell, "input_size": self.input_size,
                "hidden_size": self.hidden_size, "output_size": self.output_size,
                "num_layers": self.num_layers, "bidirectional": self.bidirectional,
                "loss_type": self.loss_type, "loss": float(self.loss),
                "bptt_window": self.bptt_window})),
            "x": self.x, "targets": self.targets, "mask": self.mask, "loss_t": self.loss_t,
        }
        for prefix, table in (("param", self.params), ("act", self.activations), ("grad", self.grads),
                              ("gradient", self.gradients), ("contrib", self.grad_contributions),
                              ("init", self.initial_state), ("initgrad", self.initial_state_grads),
                              ("finalgrad", self.final_state_grads)):
            for name, value in table.items():
                arrays[f"{prefix}/{name}"] = value
        if hasattr(path, "write"):
            np.savez_compressed(path, **arrays)
            return
        with open(path, "wb") as f:
            np.savez_compressed(f, **arrays)


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
        arch = Architecture(meta["cell"], meta["input_size"], meta["hidden_size"], meta["output_size"],
                            meta["num_layers"], meta["bidirectional"])
        trace = Trace(arch, meta["loss_type"], files.pop("x"), files.pop("targets"), files.pop("mask"), {})
        trace.loss_t = files.pop("loss_t")
        trace.loss = float(meta["loss"])
        trace.bptt_window = meta.get("bptt_window")
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
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
    expected = set(arch.shapes())
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
