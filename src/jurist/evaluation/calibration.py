"""Calibration: map a judge's raw confidence signal to the probability that a human agrees with it.

Fitted on labelled items, as (signal, agreed) pairs. Two shapes, chosen by a fixed rule on the number of
labelled items ``n``:

- ``n < ISOTONIC_MIN`` (200): **logistic** (Platt) regression, p = 1 / (1 + exp(-(a + b·s))), fitted by
  Newton's method on Platt's smoothed targets ((positives + 1) / (positives + 2) and
  1 / (negatives + 2)), so a perfectly separating signal still gives finite parameters. Two parameters
  suit few labels.
- ``n ≥ ISOTONIC_MIN``: **isotonic** regression (pool-adjacent-violators, weighted by ties): monotone,
  no shape assumption, needs more labels. Applied by linear interpolation between its breakpoints and held
  flat beyond them.

A ``Calibrator`` is a small JSON object (``as_dict``/``from_dict``): ``version``, ``kind``, ``n``,
``fitted_on`` (a caller-given description of the labelled set), and ``a``/``b`` or ``x``/``y``.
A calibration fitted on one kind of data says nothing about another: it holds for new items drawn like
the labelled ones. Pure numpy; the quality measures are in ``calibration_quality``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

ISOTONIC_MIN = 200
FORMAT_VERSION = 1
Kind = Literal["isotonic", "logistic"]
Floats = npt.NDArray[np.float64]


def pool_adjacent_violators(y: Sequence[float], weights: Sequence[float]) -> Floats:
    """The non-decreasing sequence closest to ``y`` in weighted least squares."""
    means: list[float] = []
    masses: list[float] = []
    sizes: list[int] = []
    for value, weight in zip(y, weights, strict=True):
        means.append(float(value))
        masses.append(float(weight))
        sizes.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            mass = masses[-2] + masses[-1]
            mean = (means[-2] * masses[-2] + means[-1] * masses[-1]) / mass
            size = sizes[-2] + sizes[-1]
            del means[-1], masses[-1], sizes[-1]
            means[-1], masses[-1], sizes[-1] = mean, mass, size
    return np.repeat(np.array(means, dtype=np.float64), sizes)


@dataclass(frozen=True)
class Calibrator:
    kind: Kind
    n: int
    fitted_on: str = ""
    a: float = 0.0
    b: float = 0.0
    x: tuple[float, ...] = field(default_factory=tuple)
    y: tuple[float, ...] = field(default_factory=tuple)

    def apply_many(self, signal: Sequence[float] | Floats) -> Floats:
        s = np.asarray(signal, dtype=np.float64)
        if self.kind == "logistic":
            return np.asarray(1.0 / (1.0 + np.exp(-(self.a + self.b * s))), dtype=np.float64)
        return np.asarray(np.interp(s, np.array(self.x), np.array(self.y)), dtype=np.float64)

    def apply(self, signal: float) -> float:
        """The calibrated probability that a human agrees, for one raw signal."""
        return float(self.apply_many([signal])[0])

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"version": FORMAT_VERSION, "kind": self.kind, "n": self.n}
        out["fitted_on"] = self.fitted_on
        if self.kind == "logistic":
            out |= {"a": self.a, "b": self.b}
        else:
            out |= {"x": list(self.x), "y": list(self.y)}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Calibrator:
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"calibrator version must be {FORMAT_VERSION}, not {data.get('version')!r}")
        kind = data.get("kind")
        n = data.get("n")
        if not isinstance(n, int):
            raise ValueError("calibrator n must be an integer")
        fitted_on = str(data.get("fitted_on", ""))
        if kind == "logistic":
            a, b = data.get("a"), data.get("b")
            if not isinstance(a, int | float) or not isinstance(b, int | float):
                raise ValueError("a logistic calibrator needs numbers a and b")
            return cls("logistic", n, fitted_on, a=float(a), b=float(b))
        if kind == "isotonic":
            x, y = data.get("x"), data.get("y")
            if not isinstance(x, list) or not isinstance(y, list) or len(x) != len(y) or not x:
                raise ValueError("an isotonic calibrator needs lists x and y of the same, non-zero length")
            return cls("isotonic", n, fitted_on, x=tuple(map(float, x)), y=tuple(map(float, y)))
        raise ValueError(f"calibrator kind must be isotonic or logistic, not {kind!r}")


def _arrays(signal: Sequence[float], agreed: Sequence[bool]) -> tuple[Floats, Floats]:
    s = np.asarray(signal, dtype=np.float64)
    y = np.asarray(agreed, dtype=np.float64)
    if s.shape != y.shape or s.ndim != 1:
        raise ValueError("signal and agreed must be sequences of the same length")
    if not len(s):
        raise ValueError("calibration needs at least one labelled item")
    if not np.all(np.isfinite(s)):
        raise ValueError("signal values must be finite")
    return s, y


def fit_isotonic(signal: Sequence[float], agreed: Sequence[bool], fitted_on: str = "") -> Calibrator:
    s, y = _arrays(signal, agreed)
    xs, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=y)
    fitted = pool_adjacent_violators(list(sums / counts), list(counts.astype(np.float64)))
    # keep only the ends of each flat run: interpolation between them is the same function
    keep = np.ones(len(xs), dtype=bool)
    if len(xs) > 2:
        keep[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
    return Calibrator(
        "isotonic", len(s), fitted_on, x=tuple(xs[keep].tolist()), y=tuple(fitted[keep].tolist())
    )


def fit_logistic(signal: Sequence[float], agreed: Sequence[bool], fitted_on: str = "") -> Calibrator:
    s, y = _arrays(signal, agreed)
    positives = float(y.sum())
    negatives = len(y) - positives
    target = np.where(y > 0.5, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    design = np.column_stack([np.ones_like(s), s])
    theta = np.zeros(2)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(design @ theta)))
        gradient = design.T @ (p - target)
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if float(np.abs(step).max()) < 1e-10:
            break
    return Calibrator("logistic", len(s), fitted_on, a=float(theta[0]), b=float(theta[1]))


def fit_calibrator(signal: Sequence[float], agreed: Sequence[bool], fitted_on: str = "") -> Calibrator:
    """Logistic below ``ISOTONIC_MIN`` labelled items, isotonic from there on."""
    if len(signal) < ISOTONIC_MIN:
        return fit_logistic(signal, agreed, fitted_on)
    return fit_isotonic(signal, agreed, fitted_on)
