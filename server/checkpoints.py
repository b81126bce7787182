"""A user's torch checkpoint (`.pt` / `.pth`) read as a state dict, never unpickled (issue 21):
`torch.load(..., weights_only=True)` only rebuilds tensors and plain containers; without torch the
message says how to export instead."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

PT_SUFFIXES = (".pt", ".pth")
EXPORT_HINT = ("export it instead: np.savez('model.npz', **{k: v.numpy() for k, v in model.state_dict().items()}), "
               "or torch.onnx.export(model, (x,), 'model.onnx', external_data=False)")


def read_pt_state(path: Path) -> dict[str, np.ndarray]:
    """name → float64/int array of the state dict saved at `path` (torch.save(model.state_dict(), path),
    or a dict holding one under "state_dict" / "model_state_dict"); ValueError saying why not."""
    try:
        import torch
    except ImportError:
        raise ValueError(f"{path.name} is a torch checkpoint and torch is not installed here; {EXPORT_HINT}") from None
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:          # torch raises many kinds for files it will not load safely
        raise ValueError(f"{path.name}: torch.load(weights_only=True) refused it ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:200]}); a whole pickled model is never loaded — {EXPORT_HINT}") from None
    if isinstance(loaded, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(loaded.get(key), dict):
                loaded = loaded[key]
                break
    if not isinstance(loaded, dict) or not loaded or not all(torch.is_tensor(v) for v in loaded.values()):
        raise ValueError(f"{path.name} does not hold a state dict (name → tensor); {EXPORT_HINT}")
    return {str(k): v.detach().cpu().numpy() for k, v in loaded.items()}


def pt_as_npz_bytes(path: Path) -> bytes:
    """The checkpoint's state dict as the bytes of an .npz (the door every model file goes through)."""
    buffer = io.BytesIO()
    np.savez(buffer, **read_pt_state(path))
    return buffer.getvalue()
