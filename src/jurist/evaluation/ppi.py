"""Prediction-powered estimates (PPI++): a judge's verdicts on every item, anchored on a few human labels.

The setting: a judge has produced a prediction ``f`` (a pass 0/1, a score, a win value) for every item,
and a human has labelled some of them with the true value ``Y``. The judge-only figure — the mean of ``f``
over all items, with its naive interval — is as wrong as the judge is biased, however narrow the interval.
The labels-only ("classical") figure — the mean of ``Y`` on the labelled items — is unbiased but wide.
PPI++ (Angelopoulos, Duchi & Zrnic, 2023, "PPI++: Efficient Prediction-Powered Inference",
arXiv:2311.01453) combines them: it is unbiased like the classical estimate and, when the judge is
informative, as narrow as many more labels would make it.

For a mean, with ``n`` labelled items (truths ``Y_i``, predictions ``f_i``) and ``N`` unlabelled items
(predictions ``f~_j``), and a tuning parameter λ:

    θ̂_λ = mean_i(Y_i − λ f_i) + λ · mean_j(f~_j)

is unbiased for E[Y] for any fixed λ (the judge's bias cancels between the two terms). Its variance is
estimated by

    σ̂²_λ = Var_i(Y_i − λ f_i) / n + λ² · Var_j(f~_j) / N

(sample variances, ``ddof = 1``; a sample of one has variance 0), and the interval is
θ̂_λ ± t_{1−α/2, n−1} σ̂_λ, with Student's t quantile for the n labelled items (``t_quantile``) rather
than the normal one: a small-sample correction, which keeps rare 0/1 outcomes (a 10 % tie rate among 50
labels) at their nominal coverage (``bench/ppi_coverage.py``; it is 2 % wider than the normal interval at
n = 50, under 1 % from n = 200). λ = 0 is the classical estimate; λ = 1 is
plain PPI. Power tuning picks the λ minimising the variance,

    λ̂ = Cov_i(Y_i, f_i) / ((1 + n/N) · Var(f)),

with Var(f) pooled over all ``n + N`` predictions, clipped to [0, 1] (λ̂ = 0 when the predictions are
constant or there are no unlabelled items). A useless judge thus costs nothing beyond the labels-only
estimate (λ̂ ≈ 0); a perfect one gets λ̂ ≈ 1. Estimating λ̂ from the same labels leaves the interval
asymptotically valid (the paper's Corollary 1); the tests and ``bench/ppi_coverage.py`` check coverage
at the sample sizes we use.

``effective_labels`` = Var_i(Y_i) / σ̂²_λ: how many labels a classical estimate would need for the same
variance, capped at ``n + N`` (all items labelled). With constant labels (Var(Y) = 0) it is ``n``.

The quantities (all means, so all go through :func:`ppi_mean`):

- pass rate: the mean of 0/1 verdicts (:func:`pass_value`);
- mean score: the mean of numeric scores;
- win rate: the mean of 1 (win) / 0.5 (tie) / 0 (loss) (:func:`win_value`, pairwise labels
  1 = the first answer wins, 2 = the second, 0 = tie).

On binary data with very few labels the intervals can still be too narrow; use at least a few dozen
labels. Labels that all agree would give a zero-width interval: given the values' ``bounds``,
``ppi_mean`` smooths that case (see there) and clips the interval to them. The judge-only interval is
the normal one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Values = Sequence[float] | npt.NDArray[np.floating[Any]]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its ``1 − alpha`` interval and how much labelling it is worth."""

    estimate: float
    ci_low: float
    ci_high: float
    n_labeled: int
    n_unlabeled: int
    effective_labels: float  # labels a classical (labels-only) estimate would need for the same variance
    lam: float  # the power-tuning parameter λ (1 = plain PPI, 0 = labels only)

    @property
    def width(self) -> float:
        return self.ci_high - self.ci_low

    def covers(self, value: float) -> bool:
        return self.ci_low <= value <= self.ci_high

    def as_dict(self) -> dict[str, float | int]:
        return dict(asdict(self))


def pass_value(passed: bool | int | float) -> float:
    """A pass/fail verdict as 1.0 / 0.0."""
    return 1.0 if passed else 0.0


def win_value(label: int | None) -> float:
    """A pairwise label as the first answer's win value: 1 → 1.0, 2 → 0.0, tie (0) → 0.5.

    ``None`` (an unparseable verdict) is treated as a tie."""
    if label is None or label == 0:
        return 0.5
    if label == 1:
        return 1.0
    if label == 2:
        return 0.0
    raise ValueError(f"a pairwise label is 1, 2 or 0 (tie), not {label!r}")


def _array(values: Values, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence of numbers")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite numbers")
    return array


def _var(values: FloatArray) -> float:
    return float(np.var(values, ddof=1)) if values.size > 1 else 0.0


def _z(alpha: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), not {alpha}")
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


def _effective(var_truth: float, variance: float, n: int, cap: int) -> float:
    if var_truth <= 0.0:
        return float(n)
    if variance <= 0.0:
        return float(cap)
    return min(var_truth / variance, float(cap))


def t_quantile(alpha: float, df: int) -> float:
    """The two-sided ``1 − alpha`` quantile of Student's t with ``df`` degrees of freedom (Hill's 1970
    expansion in the normal quantile: within 1 % of the exact value from df = 3 on (alpha ≥ 0.01), and low
    below; numpy only)."""
    z = _z(alpha)
    if df <= 0:
        return math.inf
    v = float(df)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / v + g2 / v**2 + g3 / v**3 + g4 / v**4


def _estimate(
    center: float,
    variance: float,
    alpha: float,
    n: int,
    big_n: int,
    effective: float,
    lam: float,
    df: int | None = None,
) -> Estimate:
    quantile = _z(alpha) if df is None else t_quantile(alpha, df)
    half = quantile * math.sqrt(max(variance, 0.0))
    return Estimate(center, center - half, center + half, n, big_n, effective, lam)


def power_tuned_lambda(labeled_truth: Values, labeled_pred: Values, unlabeled_pred: Values) -> float:
    """λ̂ = Cov(Y, f)_labelled / ((1 + n/N) · Var(f)_all), clipped to [0, 1]."""
    y = _array(labeled_truth, "labeled_truth")
    f = _array(labeled_pred, "labeled_pred")
    f_unl = _array(unlabeled_pred, "unlabeled_pred")
    return _tuned(y, f, f_unl)


def _tuned(y: FloatArray, f: FloatArray, f_unl: FloatArray) -> float:
    n, big_n = y.size, f_unl.size
    if big_n == 0 or n < 2:
        return 0.0
    var_f = _var(np.concatenate([f, f_unl]))
    if var_f <= 0.0:
        return 0.0
    cov = float(np.cov(y, f, ddof=1)[0, 1])
    return min(1.0, max(0.0, cov / ((1.0 + n / big_n) * var_f)))


def ppi_mean(
    labeled_truth: Values,
    labeled_pred: Values,
    unlabeled_pred: Values,
    *,
    alpha: float = 0.1,
    lam: float | None = None,
    bounds: tuple[float, float] | None = None,
) -> Estimate:
    """The PPI++ estimate of E[Y] and its ``1 − alpha`` interval (module docstring).

    ``labeled_truth[i]`` and ``labeled_pred[i]`` are the human value and the judge's prediction on the
    i-th labelled item; ``unlabeled_pred`` the judge's predictions on the items without labels. ``lam``
    fixes λ (0 = labels only, 1 = plain PPI); ``None`` power-tunes it.

    ``bounds``: the range values lie in (a rate's [0, 1], a judge's scale). With it, labels that all
    agree no longer give a zero-width interval: the labelled term's variance is floored at that of a
    Laplace-smoothed proportion over the range (one pseudo-label at each end, (k + 1) / (n + 2)), and the
    interval is clipped to the range.
    """
    y = _array(labeled_truth, "labeled_truth")
    f = _array(labeled_pred, "labeled_pred")
    f_unl = _array(unlabeled_pred, "unlabeled_pred")
    if y.size != f.size:
        raise ValueError(f"{y.size} labels but {f.size} predictions on the labelled items")
    if y.size < 2:
        raise ValueError("PPI needs at least two labelled items")
    n, big_n = y.size, f_unl.size
    _z(alpha)
    if lam is None:
        lam = _tuned(y, f, f_unl)
    elif not 0.0 <= lam <= 1.0 or not math.isfinite(lam):
        raise ValueError(f"lam must be in [0, 1], not {lam}")
    elif big_n == 0 and lam != 0.0:
        raise ValueError("lam > 0 needs unlabelled predictions")
    rectified = y - lam * f
    center = float(rectified.mean()) + (lam * float(f_unl.mean()) if big_n else 0.0)
    labelled = _var(rectified) / n
    if bounds is not None and _var(y) <= 0.0:  # every label agrees: smooth instead of a zero width
        low, high = bounds
        share = min(1.0, max(0.0, (float(y.mean()) - low) / (high - low))) if high > low else 0.5
        smoothed = (share * n + 1) / (n + 2)
        labelled = max(labelled, smoothed * (1 - smoothed) * (high - low) ** 2 / n)
    variance = labelled + (lam * lam * _var(f_unl) / big_n if big_n else 0.0)
    effective = _effective(_var(y), variance, n, n + big_n)
    found = _estimate(center, variance, alpha, n, big_n, effective, lam, df=n - 1)
    if bounds is None:
        return found
    return replace(found, ci_low=max(found.ci_low, bounds[0]), ci_high=min(found.ci_high, bounds[1]))


def classical_mean(truth: Values, *, alpha: float = 0.1) -> Estimate:
    """The labels-only estimate: the mean of the human values with its normal interval (λ = 0)."""
    y = _array(truth, "truth")
    if y.size < 2:
        raise ValueError("an interval needs at least two labelled items")
    n = y.size
    variance = _var(y) / n
    return _estimate(float(y.mean()), variance, alpha, n, 0, float(n), 0.0, df=n - 1)


def judge_only_mean(pred: Values, *, alpha: float = 0.1) -> Estimate:
    """The judge-only figure: the mean of the predictions with the naive normal interval.

    It covers the judge's own mean, not the human one: a biased judge's interval shrinks around the
    wrong value as items are added. ``effective_labels`` is 0 (no human label is used) and λ is 1."""
    f = _array(pred, "pred")
    if f.size < 2:
        raise ValueError("an interval needs at least two predictions")
    variance = _var(f) / f.size
    return _estimate(float(f.mean()), variance, alpha, 0, f.size, 0.0, 1.0)
