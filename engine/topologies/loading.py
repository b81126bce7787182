"""Reading back any saved trace: a chain's (engine.trace.load_trace), a feedback network's (a chain's
file whose meta has "feedback": read as a FeedbackTrace) or a recursive network's (meta format
"tree": a TreeTrace). Never unpickles; ValueError when the file is not a trace."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..trace import Trace, _unpacked_bytes
from ..trace import load_trace as load_chain_trace
from .feedback import FeedbackTrace
from .tree_trace import TreeTrace
from .trees import Tree

_TABLES = {"param": "params", "act": "activations", "grad": "grads", "gradient": "gradients", "contrib": "grad_contributions"}


def load_trace(path: str | Path, max_bytes: int | None = None) -> Trace | FeedbackTrace | TreeTrace:
    """The trace saved at `path` by Trace.save, FeedbackTrace.save or TreeTrace.save, as the class
    that wrote it; `max_bytes` caps what its arrays may unpack to (checked before reading)."""
    meta = _meta(path, max_bytes)
    if meta.get("format") == "tree":
        return _load_tree(path, meta)
    trace = load_chain_trace(path, max_bytes)
    if "feedback" in meta:
        fb = meta["feedback"]
        if not isinstance(fb, dict) or {"feed", "alpha", "input_size", "fed_size", "fed_jacobian_norms"} - set(fb):
            raise ValueError("not a trace file: bad feedback metadata")
        trace = FeedbackTrace.adopt(trace, fb)
    return trace


def _meta(path: str | Path, max_bytes: int | None) -> dict:
    """The file's JSON meta (ValueError when there is none, or the arrays unpack beyond max_bytes)."""
    if max_bytes is not None and _unpacked_bytes(path) > max_bytes:
        return {}          # load_chain_trace raises with the sizes
    try:
        with np.load(path, allow_pickle=False) as data:
            if "meta" not in data.files:
                return {}
            meta = json.loads(str(data["meta"]))
    except (OSError, ValueError, EOFError, json.JSONDecodeError):
        return {}          # load_chain_trace says why
    return meta if isinstance(meta, dict) else {}


def _load_tree(path: str | Path, meta: dict) -> TreeTrace:
    """A TreeTrace from its file: the tree from meta, every array in its table."""
    with np.load(path, allow_pickle=False) as data:
        files = {k: data[k] for k in data.files if k != "meta"}
    try:
        spec = meta["tree"]
        tree = Tree(tuple(tuple(c) if c is not None else None for c in spec["children"]),
                    tuple(spec["words"]) if spec.get("words") is not None else None)
        x, targets = files.pop("x"), files.pop("targets")
        mask = files.pop("mask").astype(bool)
        trace = TreeTrace(tree, meta["loss_type"], x, targets, mask, {})
        trace.loss = float(meta["loss"])
        trace.comparison = meta.get("comparison")
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a trace file: bad tree metadata ({exc})") from exc
    for key, value in files.items():
        prefix, _, name = key.partition("/")
        if prefix not in _TABLES:
            raise ValueError(f"not a trace file: unexpected entry {key!r}")
        getattr(trace, _TABLES[prefix])[name] = value
    h = trace.activations.get("h")
    if h is None or h.shape[0] != tree.size or x.shape[0] != len(tree.leaves):
        raise ValueError("not a trace file: its arrays do not match its tree")
    return trace
