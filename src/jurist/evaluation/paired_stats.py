"""The statistics of two runs over the same items, in numpy only (SciPy is not a run-time dependency; the
tests check every figure here against ``scipy.stats``).

- ``mcnemar_exact(b, c)``: McNemar's exact test, the two-sided binomial test of b successes in the b + c
  discordant pairs at p = ½ (``scipy.stats.binomtest(b, b + c, 0.5)``): 2·P(Binomial(b + c, ½) ≤ min(b, c)),
  capped at 1; 1 without discordant pairs.
- ``wilcoxon(d)``: Wilcoxon's signed-rank test of the paired differences, two-sided. Zero differences are
  dropped (``zero_method="wilcox"``, as McNemar drops the concordant pairs), the others ranked by |d| with
  average ranks for ties. Up to 50 non-zero differences the p-value is exact: the distribution of W⁺ over
  all 2ᵐ sign assignments of the observed (mid-)ranks, counted on doubled ranks (so ties stay exact; with
  no ties this is ``scipy.stats.wilcoxon(d)``'s exact test, and up to 13 differences it equals SciPy's
  permutation test). Above 50, the normal approximation with the tie-corrected variance and no continuity
  correction (``scipy.stats.wilcoxon(d, method="asymptotic")``). All differences zero: p = 1.
- ``holm(p)``: Holm's step-down adjustment: the i-th smallest of m p-values becomes
  max over j ≤ i of min(1, (m − j + 1)·p₍ⱼ₎), returned in the input order.
- ``mean_ci(d, …)``: the paired percentile bootstrap of mean(d), n items resampled with replacement.
  Resampling items is the same as drawing multinomial counts over the distinct values of d with their
  observed shares, so with at most ``MULTINOMIAL_VALUES`` distinct values (pass/fail gives 3, a score scale
  a few dozen) the rounds are drawn that way, in O(rounds × values) whatever n is. Otherwise items are
  resampled in chunks (``metrics.bootstrap_ratio_ci``) while rounds × n stays within ``RESAMPLE_BUDGET``;
  beyond it (continuous scores on very many items) the interval is the normal one the bootstrap of a mean
  converges to, mean ± z₁₋α/₂·sd/√n.
- ``mde(d, alpha)``: the minimum detectable |mean difference| at this n with 80 % power, by the normal
  approximation (z₁₋α/₂ + z₀.₈)·sd/√n, sd being the sample sd of d. When that sd is 0 (or undefined, n = 1)
  the worst case for differences no larger than the largest observed |dᵢ| is used, sd = max|dᵢ| (for
  pass/fail the binary worst case, 1, as soon as one pair differs); when every dᵢ is 0 the MDE is 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

from jurist.evaluation.binomial import binom_cdf
from jurist.evaluation.metrics import bootstrap_ratio_ci

EXACT_WILCOXON = 50  # up to this many non-zero differences the signed-rank p-value is exact
MULTINOMIAL_VALUES = 64  # distinct differences up to which the bootstrap draws multinomial counts
RESAMPLE_BUDGET = 10_000_000  # rounds × n index draws allowed before the normal interval is used
POWER = 0.8

_STANDARD_NORMAL = NormalDist()


def z(quantile: float) -> float:
    """The standard normal quantile."""
    return _STANDARD_NORMAL.inv_cdf(quantile)


def mcnemar_exact(improved: int, regressed: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pair counts."""
    discordant = improved + regressed
    if discordant == 0:
        return 1.0
    return min(1.0, 2.0 * binom_cdf(min(improved, regressed), discordant, 0.5))


def average_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranks (1-based, ties given their average rank) of ``values``, and the size of each tie group."""
    distinct, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    del distinct
    ends = np.cumsum(counts)
    group_rank = ends - (counts - 1) / 2.0
    return group_rank[inverse], counts


def _exact_signed_rank_p(doubled_ranks: np.ndarray, doubled_w: int) -> float:
    """Two-sided p of W⁺ (in doubled ranks) under all 2ᵐ equally likely sign assignments."""
    total = int(doubled_ranks.sum())
    pmf = np.zeros(total + 1)
    pmf[0] = 1.0
    reach = 0
    for rank in doubled_ranks.tolist():
        step = int(rank)
        shifted = pmf[: reach + 1].copy()
        pmf[: reach + 1] *= 0.5
        pmf[step : step + reach + 1] += 0.5 * shifted
        reach += step
    below = float(pmf[: doubled_w + 1].sum())
    above = float(pmf[doubled_w:].sum())
    return min(1.0, 2.0 * min(below, above))


def wilcoxon(differences: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired differences (zeros dropped)."""
    d = differences[differences != 0]
    m = len(d)
    if m == 0:
        return 1.0
    ranks, ties = average_ranks(np.abs(d))
    w_plus = float(ranks[d > 0].sum())
    if m <= EXACT_WILCOXON:
        return _exact_signed_rank_p(np.rint(2 * ranks).astype(np.int64), round(2 * w_plus))
    mean = m * (m + 1) / 4.0
    tie_term = float(np.sum(ties.astype(np.float64) ** 3 - ties))
    variance = (m * (m + 1) * (2 * m + 1) - tie_term / 2.0) / 24.0
    if variance <= 0:
        return 1.0
    statistic = (w_plus - mean) / math.sqrt(variance)
    return min(1.0, math.erfc(abs(statistic) / math.sqrt(2.0)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the order given."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    out = [0.0] * m
    running = 0.0
    for position, index in enumerate(order):
        running = max(running, min(1.0, (m - position) * float(p_values[index])))
        out[index] = running
    return out


def mean_ci(differences: np.ndarray, *, alpha: float, rounds: int, seed: int) -> tuple[float, float]:
    """Two-sided (1 − alpha) paired percentile-bootstrap interval of mean(d); (0, 0) for no items."""
    n = len(differences)
    if n == 0:
        return 0.0, 0.0
    values, counts = np.unique(differences, return_counts=True)
    if len(values) == 1:
        only = float(values[0])
        return only, only
    quantiles = [alpha / 2.0, 1.0 - alpha / 2.0]
    if len(values) <= MULTINOMIAL_VALUES:
        rng = np.random.default_rng(seed)
        draws = rng.multinomial(n, counts / n, size=rounds)
        means = draws @ values / n
        low, high = np.quantile(means, quantiles)
        return float(low), float(high)
    if rounds * n <= RESAMPLE_BUDGET:
        interval = bootstrap_ratio_ci(differences, reps=rounds, seed=seed, level=1.0 - alpha)
        assert interval is not None  # n > 0 and rounds ≥ 1
        return interval
    centre = float(differences.mean())
    half = z(1.0 - alpha / 2.0) * float(differences.std(ddof=1)) / math.sqrt(n)
    return centre - half, centre + half


def sd_for_power(differences: np.ndarray) -> float:
    """The sd the MDE uses: the sample sd, or the worst case max|dᵢ| when that is 0 or undefined."""
    n = len(differences)
    sd = float(differences.std(ddof=1)) if n >= 2 else 0.0
    if sd > 0:
        return sd
    return float(np.abs(differences).max()) if n else 0.0


def mde(differences: np.ndarray, alpha: float) -> float | None:
    """Minimum detectable |mean difference| at this n (80 % power, two-sided alpha); None for no items."""
    n = len(differences)
    if n == 0:
        return None
    return (z(1.0 - alpha / 2.0) + z(POWER)) * sd_for_power(differences) / math.sqrt(n)


def items_needed(n: int, delta: float, detectable: float | None, margin: float) -> int | None:
    """Items at which an effect of max(|delta|, margin) is detected with 80 % power:
    ⌈((z₁₋α/₂ + z₀.₈)·sd / effect)²⌉ = ⌈n·(mde / effect)²⌉, at least n + 1 (n items did not decide it).
    None without items or without an effect to detect (|delta| and margin both 0)."""
    effect = max(abs(delta), margin)
    if detectable is None or n == 0 or effect <= 0:
        return None
    needed = math.ceil(round(n * (detectable / effect) ** 2, 6))
    return max(n + 1, needed)
