"""A user's files as sent (:class:`ModelFiles`), and reading their .npz / .npy bytes safely: never
unpickles, checks every array's size from its header before loading it, and names the file in
every error."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from math import prod
from pathlib import Path

import numpy as np

NPY_MAGIC = b"\x93NUMPY"


class ModelFileError(ValueError):
    """A user's file (or option) cannot be used; ``field`` names the request field it came from."""

    def __init__(self, detail: str, field: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


@dataclass(frozen=True)
class ModelFiles:
    """What the user sent: three files' bytes and names, and the options."""

    model: bytes
    input: bytes
    targets: bytes | None = None
    model_name: str = "model.npz"
    input_name: str = "input.npy"
    targets_name: str = "targets.npy"
    cell: str | None = None
    loss: str | None = None
    lengths: bytes | None = None          # an .npy of B sequence lengths (a padded batch)
    lengths_name: str = "lengths.npy"
    batch_first: bool = False             # the input/targets are (B, T, …) as a batch-first module reads them
    readout: str | None = None            # "per_step" | "final_state"; None: per_step, or what an ONNX graph says

    def content_id(self) -> str:
        """A hash of everything the model and its trace depend on (32 hex digits)."""
        digest = hashlib.sha256()
        parts = [self.model, self.input, self.targets or b"", (self.cell or "").encode(), (self.loss or "").encode()]
        if self.lengths is not None:          # only then: the ids of uploads without lengths stay as they were
            parts.append(self.lengths)
        if self.batch_first:                  # likewise: only then
            parts.append(b"batch_first")
        if self.readout is not None:          # likewise
            parts.append(f"readout:{self.readout}".encode())
        for part in parts:
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
        return digest.hexdigest()[:32]


def read_path(path: Path, field: str, max_bytes: int) -> bytes:
    """The bytes of a file named on the command line (its size checked before reading)."""
    if not path.is_file():
        raise ModelFileError(f"no such file: {path}", field)
    size = path.stat().st_size
    if size > max_bytes:
        raise ModelFileError(f"{path.name} is {size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:g} MB "
                             "(raise it with UNROLLED_MAX_MODEL_MB)", field)
    return path.read_bytes()


def _checked_header(stream, name: str, field: str, budget: int) -> int:
    """Read an .npy header from ``stream``; the array's byte size, or ModelFileError."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    except (ValueError, OSError, EOFError, SyntaxError) as exc:
        raise ModelFileError(f"{name} is not a NumPy array file: {exc}", field) from None
    if dtype.hasobject:
        raise ModelFileError(f"{name} holds Python objects (a pickled array, dtype {dtype}); "
                             "save plain numeric arrays: np.save / np.savez of numbers only", field)
    nbytes = prod(shape) * dtype.itemsize
    if nbytes > budget:
        raise ModelFileError(f"{name} holds {nbytes / 2**20:.1f} MB of data; the limit is "
                             f"{budget / 2**20:g} MB", field)
    return nbytes


def npy_array(data: bytes, filename: str, field: str, max_bytes: int) -> np.ndarray:
    """One array from the bytes of an .npy file."""
    if not data.startswith(NPY_MAGIC):
        raise ModelFileError(f"{filename} is not an .npy file (save it with np.save)", field)
    _checked_header(io.BytesIO(data), filename, field, max_bytes)
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ModelFileError(f"{filename}: cannot read the array: {exc}", field) from None


def npz_arrays(data: bytes, filename: str, field: str, max_bytes: int, max_arrays: int) -> dict[str, np.ndarray]:
    """name → array from the bytes of an .npz file (np.savez / np.savez_compressed)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ModelFileError(f"{filename} is not an .npz file (save it with np.savez)", field) from None
    with archive:
        members = archive.infolist()
        if not members:
            raise ModelFileError(f"{filename} holds no arrays", field)
        if len(members) > max_arrays:
            raise ModelFileError(f"{filename} holds {len(members)} arrays; at most {max_arrays} are allowed", field)
        budget = max_bytes
        arrays = {}
        for info in members:
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            where = f"{filename}['{name}']"
            try:
                with archive.open(info) as member:
                    budget -= _checked_header(member, where, field, budget)
                with archive.open(info) as member:
                    arrays[name] = np.lib.format.read_array(member, allow_pickle=False)
            except ModelFileError:
                raise
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, RuntimeError) as exc:
                raise ModelFileError(f"{where}: cannot read the array: {exc}", field) from None
    return arrays
