"""NaN-safe JSON and the stream's rounding."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from unrolled.server.wire.serialize import array_to_json, dumps, round_significant, to_jsonable


def test_nonfinite_floats_become_strings_everywhere():
    data = {"a": np.array([[1.5, np.nan], [np.inf, -np.inf]]), "b": float("nan"), "c": [1.0, float("-inf")],
            "d": np.float32("inf"), "e": (np.int64(3), True, None)}
    text = dumps(data)
    assert json.loads(text) == {"a": [[1.5, "NaN"], ["Infinity", "-Infinity"]], "b": "NaN",
                                "c": [1.0, "-Infinity"], "d": "Infinity", "e": [3, True, None]}


def test_full_precision_is_kept_without_digits():
    a = np.random.default_rng(0).standard_normal(50)
    assert json.loads(dumps(a)) == a.tolist()


@pytest.mark.parametrize("value, expected", [(0.123456, 0.1235), (123456.7, 123500.0), (-1.23456e-7, -1.235e-7),
                                             (0.0, 0.0), (99999.0, 100000.0), (1e-320, 1e-320), (2.5e300, 2.5e300)])
def test_round_significant(value, expected):
    assert float(round_significant(np.array([value]), 4)[0]) == expected


def test_rounded_numbers_print_short():
    a = np.random.default_rng(1).standard_normal(200) * 10.0 ** np.random.default_rng(2).integers(-8, 8, 200)
    for text in json.dumps(array_to_json(a, 4)).strip("[]").split(","):
        mantissa = text.strip().split("e")[0].lstrip("-").replace(".", "").lstrip("0").rstrip("0")
        assert len(mantissa) <= 4, text


def test_integer_arrays_stay_integers():
    assert to_jsonable(np.array([[1, -100]])) == [[1, -100]]
    assert to_jsonable(np.array([True, False])) == [True, False]


def test_nan_survives_rounding():
    out = array_to_json(np.array([math.nan, 1.23456]), 3)
    assert out == ["NaN", 1.23]
