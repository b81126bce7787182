"""An uploaded .onnx model: read with engine.Network.from_onnx (parsed by the onnx package, never run),
every refusal turned into a ModelFileError on the ``model`` field naming the file."""

from __future__ import annotations

from unrolled import engine
from unrolled.server.uploads.model_files import ModelFileError

ONNX_SUFFIX = ".onnx"


def is_onnx(filename: str) -> bool:
    """True for a model file the user named *.onnx."""
    return filename.lower().endswith(ONNX_SUFFIX)


def onnx_network(data: bytes, filename: str, cell: str | None, max_bytes: int) -> engine.Network:
    """The network of an ONNX file's bytes; ModelFileError (field ``model``, or ``cell`` when the named
    cell contradicts the graph) otherwise."""
    try:
        net = engine.Network.from_onnx(data, max_bytes=max_bytes)
    except ImportError as exc:
        raise ModelFileError(f"{filename}: this server cannot read ONNX models ({exc})", "model") from None
    except ValueError as exc:
        raise ModelFileError(f"{filename}: {exc}", "model") from None
    if cell is not None and cell != net.cell:
        raise ModelFileError(f"{filename} holds a {net.cell} network; the cell option says {cell} "
                             "(leave it empty for an ONNX model)", "cell")
    return net
