"""NaN-safe JSON: every non-finite float becomes "NaN", "Infinity" or "-Infinity".

Arrays are converted with vectorised NumPy (never element by element in
Python) because traces are large: full precision for the REST trace,
``significant`` digits for the stream.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

NAN, POS_INF, NEG_INF = "NaN", "Infinity", "-Infinity"


def round_significant(a: np.ndarray, digits: int) -> np.ndarray:
    """Round every element to ``digits`` significant digits (non-finite values pass through).

    Dividing by an exact power of ten (or multiplying by one when rounding to
    tens or more) keeps the results the nearest doubles of short decimals, so
    Python prints them short (0.1234, not 0.12340000000000001).
    """
    a = np.asarray(a, dtype=np.float64)
    nonzero = np.isfinite(a) & (a != 0)
    magnitude = np.floor(np.log10(np.abs(a, where=nonzero, out=np.ones_like(a))))
    decimals = np.where(nonzero, digits - 1 - magnitude, 0)
    # Beyond ~300 decimals the powers overflow; such tiny numbers are kept as they are.
    safe = nonzero & (decimals < 300)
    up = 10.0 ** np.clip(decimals, 0, 300)
    down = 10.0 ** np.clip(-decimals, 0, 300)
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = np.where(decimals >= 0, np.round(a * up) / up, np.round(a / down) * down)
    return np.where(safe, rounded, a)


def array_to_json(a: Any, digits: int | None = None) -> Any:
    """A NumPy array (or scalar) as nested lists of JSON-safe numbers and strings.

    Integer and bool arrays pass through ``tolist``; float arrays are rounded to
    ``digits`` significant digits when given, and their non-finite entries become
    the strings of this module.
    """
    a = np.asarray(a)
    if a.dtype.kind in "biu":
        return a.tolist()
    a = a.astype(np.float64, copy=False)
    if digits is not None:
        a = round_significant(a, digits)
    finite = np.isfinite(a)
    if finite.all():
        return a.tolist()
    out = a.astype(object)
    out[np.isnan(a)] = NAN
    out[np.isposinf(a)] = POS_INF
    out[np.isneginf(a)] = NEG_INF
    return out.tolist()


def float_to_json(v: float) -> float | str:
    """One float, with non-finite values as strings."""
    if math.isnan(v):
        return NAN
    if math.isinf(v):
        return POS_INF if v > 0 else NEG_INF
    return float(v)


def to_jsonable(obj: Any, digits: int | None = None) -> Any:
    """Any mix of dicts, lists, tuples, NumPy arrays and scalars as JSON-safe Python data."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        if obj and all(isinstance(v, (float, int)) and not isinstance(v, bool) for v in obj):
            return array_to_json(np.asarray(obj, dtype=np.float64 if any(isinstance(v, float) for v in obj) else None), digits)
        return [to_jsonable(v, digits) for v in obj]
    if isinstance(obj, np.ndarray):
        return array_to_json(obj, digits)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        if digits is not None and math.isfinite(v):
            v = float(round_significant(np.asarray(v), digits))
        return float_to_json(v)
    if isinstance(obj, (bytes, bytearray)):  # e.g. a request body echoed in a validation error
        return bytes(obj).decode("utf-8", errors="replace")
    return obj


def dumps(obj: Any, digits: int | None = None) -> str:
    """Compact JSON text of ``obj``; refuses (ValueError) anything that would print NaN/Infinity."""
    # ASCII-escaped: any string (a file name, say) may hold a surrogate UTF-8 cannot encode
    return json.dumps(to_jsonable(obj, digits), separators=(",", ":"), allow_nan=False)
