"""Uploaded files shared between the worker processes of one machine, on disk.

`unrolled serve --workers N` hands the upload (POST /api/models) and the socket that streams it to
whichever process accepts each connection, so a model uploaded to one worker is often asked for by
another. Every upload's files are written here under its content id; a worker that does not hold an
id rebuilds the model from these files (the same bytes give the same model and the same id). The
folder is private to the user (0700), files are written atomically, read with allow_pickle=False,
and the oldest are deleted beyond ``max_bytes``. Machines behind a load balancer do not share it:
there the page uploads again when a worker answers "unknown model_id".
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from unrolled.server.uploads.model_files import ModelFileError, ModelFiles

MODEL_ID = re.compile(r"^[0-9a-f]{32}$")


def default_spill_dir() -> Path:
    """UNROLLED_MODEL_DIR, else a per-user folder in the system's temporary directory."""
    configured = os.environ.get("UNROLLED_MODEL_DIR")
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / f"unrolled-models-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


class SpilledFiles:
    """A folder of uploads, each one .npz of plain uint8 arrays named by its model id."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder, self.max_bytes = Path(folder), max_bytes

    def _path(self, model_id: str) -> Path | None:
        return self.folder / f"{model_id}.npz" if MODEL_ID.match(model_id) else None

    def has(self, model_id: str) -> bool:
        """True when an upload with this id is in the folder."""
        path = self._path(model_id)
        return path is not None and path.is_file()

    def save(self, model_id: str, files: ModelFiles) -> None:
        """Write ``files`` (a ModelFiles) under ``model_id``; best effort (a full disk only costs sharing)."""
        path = self._path(model_id)
        if path is None or path.exists():
            return
        options = {"model_name": files.model_name, "input_name": files.input_name, "targets_name": files.targets_name,
                   "cell": files.cell, "loss": files.loss, "has_targets": files.targets is not None,
                   "lengths_name": files.lengths_name, "has_lengths": files.lengths is not None,
                   "batch_first": files.batch_first, "readout": files.readout}
        arrays = {"model": np.frombuffer(files.model, np.uint8), "input": np.frombuffer(files.input, np.uint8),
                  "targets": np.frombuffer(files.targets or b"", np.uint8),
                  "lengths": np.frombuffer(files.lengths or b"", np.uint8),
                  "options": np.frombuffer(json.dumps(options).encode(), np.uint8)}
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".part")
            with os.fdopen(handle, "wb") as out:
                np.savez(out, **arrays)
            os.replace(temporary, path)
            self._trim()
        except OSError:
            return

    def load(self, model_id: str) -> ModelFiles | None:
        """The ModelFiles saved under ``model_id``, or None."""
        path = self._path(model_id)
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                options = json.loads(data["options"].tobytes())
                files = ModelFiles(data["model"].tobytes(), data["input"].tobytes(),
                                   data["targets"].tobytes() if options["has_targets"] else None,
                                   options["model_name"], options["input_name"], options["targets_name"],
                                   options["cell"], options["loss"],
                                   data["lengths"].tobytes() if options.get("has_lengths") else None,
                                   options.get("lengths_name", "lengths.npy"), bool(options.get("batch_first")),
                                   options.get("readout"))
        except (OSError, ValueError, KeyError, ModelFileError):
            return None
        return files if files.content_id() == model_id else None

    def _trim(self) -> None:
        """Delete the oldest uploads until the folder holds at most ``max_bytes``."""
        entries = sorted(self.folder.glob("*.npz"), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in entries)
        for path in entries[:-1]:
            if total <= self.max_bytes:
                break
            total -= path.stat().st_size
            path.unlink(missing_ok=True)
