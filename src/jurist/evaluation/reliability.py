"""How well a probability of agreement is calibrated: expected calibration error (equal-mass bins), Brier
score, each with a seeded bootstrap interval, and the reliability diagram's bins.

Measure on items the calibrator was not fitted on, or the figures flatter it. ECE is biased upwards (binning
noise is always counted as error), and more so on resamples, so for a well-calibrated judge its bootstrap
interval can sit above the point value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
BINS = 10
RESAMPLES = 1000


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Bin:
    mean_confidence: float
    accuracy: float
    count: int


def _sorted(probability: Sequence[float] | Floats, agreed: Sequence[bool] | Floats) -> tuple[Floats, Floats]:
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(agreed, dtype=np.float64)
    if p.shape != y.shape or p.ndim != 1 or not len(p):
        raise ValueError("probability and agreed must be non-empty sequences of the same length")
    order = np.argsort(p, kind="stable")
    return p[order], y[order]


def reliability_bins(
    probability: Sequence[float] | Floats, agreed: Sequence[bool] | Floats, bins: int = BINS
) -> list[Bin]:
    """Equal-mass bins by probability (as many as items when there are fewer than ``bins``)."""
    p, y = _sorted(probability, agreed)
    return [
        Bin(float(pb.mean()), float(yb.mean()), len(pb))
        for pb, yb in zip(
            np.array_split(p, min(bins, len(p))), np.array_split(y, min(bins, len(p))), strict=True
        )
    ]


def expected_calibration_error(
    probability: Sequence[float] | Floats, agreed: Sequence[bool] | Floats, bins: int = BINS
) -> float:
    """Σ over equal-mass bins of (bin size / n) · |mean probability − share agreed|."""
    found = reliability_bins(probability, agreed, bins)
    total = sum(b.count for b in found)
    return sum(b.count / total * abs(b.mean_confidence - b.accuracy) for b in found)


def brier_score(probability: Sequence[float] | Floats, agreed: Sequence[bool] | Floats) -> float:
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(agreed, dtype=np.float64)
    if p.shape != y.shape or not len(p):
        raise ValueError("probability and agreed must be non-empty sequences of the same length")
    return float(np.mean((p - y) ** 2))


def bootstrap(
    measure: Callable[[Floats, Floats], float],
    probability: Sequence[float] | Floats,
    agreed: Sequence[bool] | Floats,
    seed: int = 0,
    resamples: int = RESAMPLES,
    level: float = 0.95,
) -> Estimate:
    """The measure on the data, with a percentile interval over seeded resamples of the items."""
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(agreed, dtype=np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(p), size=(resamples, len(p)))
    values = np.array([measure(p[d], y[d]) for d in draws])
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return Estimate(measure(p, y), float(low), float(high))


@dataclass(frozen=True)
class Quality:
    ece: Estimate
    brier: Estimate
    bins: list[Bin]

    def as_dict(self) -> dict[str, object]:
        return {
            "ece": self.ece.as_dict(),
            "brier": self.brier.as_dict(),
            "bins": [asdict(b) for b in self.bins],
        }


def calibration_quality(
    probability: Sequence[float] | Floats, agreed: Sequence[bool] | Floats, seed: int = 0
) -> Quality:
    return Quality(
        bootstrap(expected_calibration_error, probability, agreed, seed),
        bootstrap(brier_score, probability, agreed, seed),
        reliability_bins(probability, agreed),
    )
