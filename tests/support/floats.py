"""Float results compared with a tolerance. numpy's kernels (BLAS sums, the SIMD ``exp``/``log`` numpy picks
for the CPU it runs on: AVX2, AVX-512, NEON) differ around the 10th significant digit from one machine to
another, so a figure computed by numeric code is compared to a golden value with a relative tolerance,
never digit for digit. Everything else (keys and their order, ints, strings, list lengths) stays exact."""

from __future__ import annotations

import json
import math
import re

REL_TOL = 1e-6
ABS_TOL = 1e-9
# a JSON number with a fraction or an exponent (what ``json.dumps`` writes for a float)
_FLOAT = re.compile(r"-?\d+(?:\.\d+(?:[eE][+-]?\d+)?|[eE][+-]?\d+)")


def mismatches(actual: object, expected: object, path: str = "$") -> list[str]:
    """Where two parsed JSON-like values differ: a float beyond the tolerance, anything else unequal
    (a value's type, a dict's keys or their order, a list's length)."""
    if isinstance(expected, float) or isinstance(actual, float):
        same = (
            isinstance(actual, float)
            and isinstance(expected, float)
            and math.isclose(actual, expected, rel_tol=REL_TOL, abs_tol=ABS_TOL)
        )
        return [] if same else [f"{path}: {actual!r} != {expected!r}"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        if list(actual) != list(expected):
            return [f"{path}: keys {list(actual)} != {list(expected)}"]
        return [m for key in expected for m in mismatches(actual[key], expected[key], f"{path}.{key}")]
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        if type(actual) is not type(expected) or len(actual) != len(expected):
            return [f"{path}: {actual!r} != {expected!r}"]
        return [
            m
            for i, (a, e) in enumerate(zip(actual, expected, strict=True))
            for m in mismatches(a, e, f"{path}[{i}]")
        ]
    if type(actual) is not type(expected) or actual != expected:
        return [f"{path}: {actual!r} != {expected!r}"]
    return []


def assert_close(actual: object, expected: object) -> None:
    """``actual == expected``, floats within the tolerance (see ``mismatches``)."""
    found = mismatches(actual, expected)
    assert not found, "\n".join(found[:20])


def assert_json_text_close(actual: str | None, expected: str) -> None:
    """JSON text byte for byte but for the digits of its floats, which are compared with the tolerance."""
    assert actual is not None
    assert _FLOAT.sub("<float>", actual) == _FLOAT.sub("<float>", expected)  # layout, keys, ints, strings
    assert_close(json.loads(actual), json.loads(expected))
