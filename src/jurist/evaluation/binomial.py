"""Exact binomial tail and the Clopper–Pearson interval, in numpy only (no SciPy at run time).

The tests check both against ``scipy.stats``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(Binomial(n, p) ≤ k), summed exactly in log space."""
    if k < 0:
        return 0.0
    if k >= n or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    ks = np.arange(k + 1, dtype=np.float64)
    log_choose = np.array(
        [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in range(k + 1)]
    )
    log_terms = log_choose + ks * math.log(p) + (n - ks) * math.log1p(-p)
    top = float(log_terms.max())
    return min(1.0, math.exp(top) * float(np.exp(log_terms - top).sum()))


def _bisect_decreasing(f: Callable[[float], float], target: float) -> float:
    """The p in [0, 1] where a decreasing function of p falls to ``target``."""
    low, high = 0.0, 1.0
    for _ in range(60):
        mid = (low + high) / 2
        if f(mid) > target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def clopper_pearson(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The exact two-sided interval for a binomial proportion (``(0, 1)`` when ``n`` is 0)."""
    if n == 0:
        return 0.0, 1.0
    tail = (1 - level) / 2
    # lower: P(X ≥ successes | p) = tail, i.e. P(X ≤ successes - 1 | p) = 1 - tail
    lower = 0.0 if successes == 0 else _bisect_decreasing(lambda p: binom_cdf(successes - 1, n, p), 1 - tail)
    # upper: P(X ≤ successes | p) = tail
    upper = 1.0 if successes == n else _bisect_decreasing(lambda p: binom_cdf(successes, n, p), tail)
    return lower, upper
