"""Bring your own model: a user's state dict (.npz) and input (.npy), optionally targets (.npy),
validated into an engine network and its data, kept in a bounded per-process store.

Targets: when none are given the loss is cross-entropy against the model's own argmax at every
step (``targets_source`` "own_argmax": the gradient then shows how each step's prediction depends
on the past, without inventing labels), or, with ``loss="mse"``, a zero target at every step
("zeros"). Given targets pick the loss by their dtype (integers: cross_entropy, floats: mse) unless
``loss`` says otherwise.

A model's id is a content hash of its files and options, so the same upload gets the same id on
every worker. The files are also shared on disk with the other worker processes of the machine
(server.uploads.model_spill), which rebuild the model from them; a worker that can find an id neither in
memory nor on disk (another machine, or trimmed) says so, and the page uploads the same files again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from unrolled import engine
from unrolled.engine.losses import IGNORE, check_targets, target_mask
from unrolled.server.runs import StreamSource, trace_shape
from unrolled.server.settings import Settings
from unrolled.server.uploads.final_targets import final_state_targets
from unrolled.server.uploads.model_files import ModelFileError, ModelFiles, npy_array, npz_arrays
from unrolled.server.uploads.model_onnx import is_onnx, onnx_network
from unrolled.server.uploads.model_spill import SpilledFiles, default_spill_dir
from unrolled.server.uploads.state_names import engine_names, infer_cell
from unrolled.server.wire.messages import meta_message


@dataclass(frozen=True)
class UserModel:
    """A validated network and the data it runs on."""

    id: str
    name: str
    input_name: str
    net: engine.Network
    x: np.ndarray            # (T, B, I)
    targets: np.ndarray      # (T, B) class ids or (T, B, O) floats
    loss: str
    targets_source: str      # "file" | "own_argmax" | "zeros"
    nbytes: int
    lengths: np.ndarray | None = None    # (B,) a padded batch's lengths
    layout: str = "time_first"           # the user's files' layout ("batch_first": an ONNX / torch batch-first model)

    def run_options(self) -> dict:
        """The lengths option of net.run / net.steps when the batch is padded."""
        return {} if self.lengths is None else {"lengths": self.lengths}

    def info(self) -> dict:
        """What the page needs to know about the model (the POST /api/models answer)."""
        T, B = self.x.shape[:2]
        net = self.net
        return {"model_id": self.id, "name": self.name, "input_name": self.input_name, "cell": net.cell,
                "num_layers": net.num_layers, "bidirectional": net.bidirectional, "input_size": net.input_size,
                "hidden_size": net.hidden_size, "output_size": net.output_size, "T": int(T), "batch_size": int(B),
                "loss": self.loss, "targets": self.targets_source, "nodes": list(net.node_names),
                "bytes": self.nbytes, "layout": self.layout, "padded": self.lengths is not None,
                "readout": net.arch.readout}

    def title(self) -> str:
        """One line for the page's header."""
        return f"Your model: {self.name} ({self.net.cell}, hidden {self.net.hidden_size}) on {self.input_name}"

    def run(self) -> engine.Trace:
        """The whole trace at once."""
        return self.net.run(self.x, self.targets, loss=self.loss, **self.run_options())


def _network(files: ModelFiles, limits: Settings) -> engine.Network:
    """The uploaded network (an .onnx graph or an .npz state dict) within the size limits."""
    if is_onnx(files.model_name):
        net = onnx_network(files.model, files.model_name, files.cell, limits.max_model_bytes)
        if files.readout is not None and files.readout != net.arch.readout:
            raise ModelFileError(f"{files.model_name}: its graph's head reads {net.arch.readout}; the readout option "
                                 f"says {files.readout} (leave it empty for an ONNX model)", "readout")
    else:
        net = _npz_network(files, limits)
        net.batch_first = files.batch_first   # a state dict cannot say; the user does (batch_first)
    if files.batch_first and not net.batch_first:
        raise ModelFileError(f"{files.model_name}: batch_first is set but the ONNX graph reads its input time "
                             "first (layout 0); leave batch_first unset for this model", "batch_first")
    too_big = [(what, value, bound) for what, value, bound in (
        ("hidden_size", net.hidden_size, limits.max_hidden_size), ("num_layers", net.num_layers, limits.max_num_layers),
        ("input_size", net.input_size, limits.max_io_size), ("output_size", net.output_size, limits.max_io_size))
        if value > bound]
    if too_big:
        what, value, bound = too_big[0]
        raise ModelFileError(f"{files.model_name}: the model's {what} is {value}; the limit is {bound}", "model")
    return net


def _npz_network(files: ModelFiles, limits: Settings) -> engine.Network:
    arrays = npz_arrays(files.model, files.model_name, "model", limits.max_model_bytes, limits.max_arrays)
    for name, value in arrays.items():
        if value.dtype.kind not in "iuf":
            raise ModelFileError(f"{files.model_name}['{name}'] has dtype {value.dtype}; expected real numbers", "model")
    state = engine_names(arrays, files.model_name, "model")
    cell = infer_cell(state, files.cell, files.model_name, "model")
    try:
        return engine.Network.from_state_dict(state, cell=cell, readout=files.readout or "per_step")
    except ValueError as exc:
        raise ModelFileError(f"{files.model_name}: {exc}", "model") from None


def _input(files: ModelFiles, net: engine.Network, limits: Settings) -> np.ndarray:
    x = npy_array(files.input, files.input_name, "input", limits.max_model_bytes)
    if net.arch.embedded:
        return _token_input(x, files, net, limits)
    expected = f"(T, {net.input_size}) or (T, B, {net.input_size}) — time first; the model's input_size is {net.input_size}"
    shape = x.shape
    if net.batch_first:
        expected = f"(B, T, {net.input_size}) — batch first; the model's input_size is {net.input_size}"
        x = np.swapaxes(x, 0, 1) if x.ndim == 3 else x
    if x.ndim == 2:
        x = x[:, None, :]
    if x.ndim != 3 or x.shape[-1] != net.input_size or 0 in x.shape:
        raise ModelFileError(f"{files.input_name} has shape {shape}; expected {expected}", "input")
    if x.dtype.kind not in "biuf":
        raise ModelFileError(f"{files.input_name} has dtype {x.dtype}; expected numbers", "input")
    _check_extent(x, files, net, limits)
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ModelFileError(f"{files.input_name} contains NaN or Inf: inputs must be finite", "input")
    return x


def _check_extent(x: np.ndarray, files: ModelFiles, net: engine.Network, limits: Settings) -> None:
    """T, B and the run's size within the limits (x time-first)."""
    T, B = x.shape[:2]
    axes = ("second", "first") if net.batch_first else ("first", "second")
    units = T * B * net.hidden_size * net.num_layers * net.directions
    for what, value, bound, setting in ((f"T (its {axes[0]} axis)", T, limits.max_seq_len, "MAX_SEQ_LEN"),
                                        (f"B (its {axes[1]} axis)", B, limits.max_batch_size, "MAX_BATCH_SIZE"),
                                        ("T·B·hidden_size·num_layers·directions", units, limits.max_units,
                                         "MAX_UNITS")):
        if value > bound:
            raise ModelFileError(f"{files.input_name}: {what} is {value}; the limit is {bound} "
                                 f"(raise it with UNROLLED_{setting})", "input")


def _token_input(x: np.ndarray, files: ModelFiles, net: engine.Network, limits: Settings) -> np.ndarray:
    """Token ids (T, B) time-first (from (B, T) for a batch-first model; (T,) is B = 1)."""
    V = net.arch.vocab_size
    layout = "(B, T) — batch first" if net.batch_first else "(T, B) or (T,) — time first"
    if x.ndim == 2 and net.batch_first:
        x = x.T
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or 0 in x.shape or x.dtype.kind not in "iu":
        raise ModelFileError(f"{files.input_name} has shape {x.shape}, dtype {x.dtype}; expected integer token ids "
                             f"{layout}", "input")
    if x.min() < 0 or x.max() >= V:
        raise ModelFileError(f"{files.input_name} holds token id {x.min() if x.min() < 0 else x.max()}; the "
                             f"model's vocabulary is [0, {V})", "input")
    _check_extent(x, files, net, limits)
    return x.astype(np.int64)


def _lengths(files: ModelFiles, x: np.ndarray, limits: Settings) -> np.ndarray | None:
    """The padded batch's lengths (B,) in [1, T], or None."""
    if files.lengths is None:
        return None
    lengths = npy_array(files.lengths, files.lengths_name, "lengths", limits.max_model_bytes)
    T, B = x.shape[:2]
    if lengths.shape != (B,) or lengths.dtype.kind not in "iu" or lengths.min() < 1 or lengths.max() > T:
        raise ModelFileError(f"{files.lengths_name} has shape {lengths.shape}, dtype {lengths.dtype}; expected "
                             f"({B},) whole numbers in [1, {T}] (each sequence's length)", "lengths")
    return lengths.astype(np.int64)


def _targets(files: ModelFiles, net: engine.Network, x: np.ndarray, limits: Settings,
             lengths: np.ndarray | None = None, batch_first: bool = False) -> tuple[np.ndarray, str, str]:
    """(targets, loss, where the targets came from); a batch-first model's targets file is (B, T[, O])."""
    if net.arch.readout == "final_state":       # issue 19: one target per sequence (an ONNX head on h_n)
        return final_state_targets(files, net, x, limits.max_model_bytes, lengths, batch_first)
    T, B = x.shape[:2]
    if files.targets is None:
        loss = files.loss or "cross_entropy"
        if loss == "mse":
            return np.zeros((T, B, net.output_size)), loss, "zeros"
        options = {} if lengths is None else {"lengths": lengths}
        forward = net.run(x, np.full((T, B), IGNORE), loss=loss, contributions=False, **options)
        return np.argmax(forward.activations["logits"], axis=-1), loss, "own_argmax"
    y = npy_array(files.targets, files.targets_name, "targets", limits.max_model_bytes)
    if batch_first and y.ndim >= 2:
        y = np.swapaxes(y, 0, 1)          # (B, T[, O]) as the model was exported
    loss = files.loss or ("cross_entropy" if y.dtype.kind in "iu" else "mse")
    expected = (f"(T, B) = {(T, B)} integer class ids in [0, {net.output_size}) or -100" if loss == "cross_entropy"
                else f"(T, B, O) = {(T, B, net.output_size)} numbers")
    try:
        engine_targets = check_targets(y, loss, T, B, net.output_size)
    except ValueError as exc:
        raise ModelFileError(f"{files.targets_name} has shape {y.shape}, dtype {y.dtype}: {exc} "
                             f"(expected {expected} for loss {loss})", "targets") from None
    return engine_targets, loss, "file"


def build_user_model(files: ModelFiles, limits: Settings) -> UserModel:
    """Validate the files into a UserModel within ``limits`` (the app's settings); ModelFileError
    (detail, field) naming the file otherwise."""
    net = _network(files, limits)
    layout = "batch_first" if net.batch_first else "time_first"
    x = _input(files, net, limits)
    net.batch_first = False               # the server keeps x and targets time-first from here on
    lengths = _lengths(files, x, limits)
    targets, loss, source = _targets(files, net, x, limits, lengths, layout == "batch_first")
    nbytes = sum(v.nbytes for v in net.state_dict().values()) + x.nbytes + targets.nbytes
    return UserModel(files.content_id(), files.model_name, files.input_name, net, x, targets, loss, source, nbytes,
                     lengths, layout)


class ModelStore:
    """The uploaded models one app holds: at most ``limits.max_models`` of at most
    ``limits.max_store_bytes`` in total, the least recently used leaving first; with ``spill``, their
    files are shared on disk with the machine's other workers (and rebuilt from there within
    ``limits``). Thread-safe (streams read it from worker threads)."""

    def __init__(self, limits: Settings, spill: SpilledFiles | None = None) -> None:
        self.limits, self.spill = limits, spill
        self.max_models, self.max_bytes = limits.max_models, limits.max_store_bytes
        self._models: OrderedDict[str, UserModel] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, model: UserModel, files: ModelFiles | None = None) -> None:
        """Keep ``model`` (the most recent), evicting the least recently used beyond the bounds;
        ``files`` (its upload) go to the shared folder."""
        with self._lock:
            self._models[model.id] = model
            self._models.move_to_end(model.id)
            while len(self._models) > 1 and (len(self._models) > self.max_models or self.total_bytes() > self.max_bytes):
                self._models.popitem(last=False)
        if files is not None and self.spill is not None:
            self.spill.save(model.id, files)

    def get(self, model_id: str) -> UserModel | None:
        """The model with this id if this process holds it in memory, else None."""
        with self._lock:
            model = self._models.get(model_id)
            if model is not None:
                self._models.move_to_end(model_id)
            return model

    def recoverable(self, model_id: str) -> bool:
        """True when the model is in memory or its files are in the shared folder (a cheap check)."""
        return self.get(model_id) is not None or (self.spill is not None and self.spill.has(model_id))

    def recover(self, model_id: str) -> UserModel | None:
        """The model from memory, or rebuilt from the shared folder (engine work: call it off the event loop)."""
        model = self.get(model_id)
        if model is not None or self.spill is None:
            return model
        files = self.spill.load(model_id)
        if files is None:
            return None
        model = build_user_model(files, self.limits)
        self.put(model)
        return model

    def total_bytes(self) -> int:
        """Bytes held (parameters, inputs and targets)."""
        return sum(m.nbytes for m in self._models.values())

    def __len__(self) -> int:
        return len(self._models)


def model_store(limits: Settings) -> ModelStore:
    """An app's store, sharing its files in the machine's folder (UNROLLED_MODEL_DIR or a private temp one)."""
    return ModelStore(limits, SpilledFiles(default_spill_dir(), limits.max_spill_bytes))

UNKNOWN_MODEL = ("unknown model_id {id!r}: this server does not hold it (uploads are kept per machine, and the "
                 "least recently used leave first); POST the same files to /api/models again — they get the same id")
NO_MODEL_ID = "a model run needs the model_id that POST /api/models returned"


def stored_model(store: ModelStore, model_id: str | None) -> UserModel | tuple[str, str]:
    """The stored model (rebuilt from the shared folder if need be: call it off the event loop),
    or (detail, field) saying why there is none."""
    if not model_id:
        return NO_MODEL_ID, "model_id"
    model = store.recover(model_id)
    if model is None:
        return UNKNOWN_MODEL.format(id=model_id), "model_id"
    return model


def model_source(model: UserModel) -> StreamSource:
    """A step-wise run of an uploaded model on its input (batch element 0 is streamed)."""
    run = model.net.steps(model.x, model.targets, loss=model.loss, **model.run_options())
    T, B = model.x.shape[:2]
    meta = meta_message(
        config=None,
        trace_shape=trace_shape(model.net, T, B, model.loss),
        nodes=list(model.net.node_names),
        batch_index=0,
        has_target=target_mask(model.targets, model.loss)[:, 0],
        labels={},
        schedule=run.schedule,
        title=model.title(),
        story=None,
        length=None if model.lengths is None else int(model.lengths[0]),
        lengths=None if model.lengths is None else [int(n) for n in model.lengths],
    )
    meta["model"] = model.info()
    return StreamSource(meta, iter(run), lambda: run.trace, run.close, 0)


def model_source_factory(store: ModelStore, model_id: str | None) -> Callable[[], StreamSource] | tuple[str, str]:
    """For /ws/trace's start with "source": "model": a callable building the stream source (run in
    the stream's worker thread; it may rebuild the model from the shared folder), or (detail, field)
    when the model is neither in memory nor in that folder."""
    if not model_id:
        return NO_MODEL_ID, "model_id"
    if not store.recoverable(model_id):
        return UNKNOWN_MODEL.format(id=model_id), "model_id"

    def build() -> StreamSource:
        model = store.recover(model_id)
        if model is None:  # trimmed from the shared folder between the check and now
            raise ValueError(UNKNOWN_MODEL.format(id=model_id))
        return model_source(model)

    return build
