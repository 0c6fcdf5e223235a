"""Is the candidate run better than the base run? Two runs of the same evaluation over the same items,
compared item by item (paired), for pass/fail outcomes or scores, per testing criterion and overall.

Per comparison (``compare_pass`` / ``compare_scores``), with d = candidate − base per item:

- ``improved`` / ``regressed`` / ``same``: items with d > 0, d < 0, d = 0.
- ``base`` / ``candidate``: pass rate (or mean score) of each run; ``delta`` = mean(d).
- ``ci_low`` / ``ci_high``: two-sided (1 − alpha) paired percentile-bootstrap interval of delta, items
  resampled with replacement, seeded (``numpy.random.default_rng(seed)``), ``rounds`` resamples. It is drawn
  as multinomial counts over the distinct differences (the same distribution, and fast at any n); only
  continuous scores on very many items (rounds × n > 10⁷) use the normal interval the bootstrap converges to.
  No exact interval is used: there is no standard exact interval for a paired difference of proportions.
- ``test`` / ``p_value``: McNemar's exact test for pass/fail (the binomial test on the discordant pairs),
  Wilcoxon's signed-rank test for scores (zero differences dropped, exact up to 50 non-zero differences,
  normal with tie correction above); p = 1 when no pair differs. Details in ``paired_stats``.
- ``p_adjusted``: Holm's step-down adjustment across the comparisons made together (``adjusted``); alone,
  the p-value itself.
- ``decision`` (``decide``), for a practical ``margin``:
  ``equivalent`` when the interval lies inside (−margin, +margin); otherwise ``better`` / ``worse`` when
  p_adjusted < alpha and delta > 0 / < 0; otherwise ``inconclusive``. No items: ``inconclusive``.
- ``mde``: the minimum detectable |delta| at this n with 80 % power, (z₁₋α/₂ + z₀.₈)·sd(d)/√n (normal
  approximation; when sd(d) is 0 the worst case sd = max|dᵢ| is used, so identical runs give 0). None
  without items.
- ``items_needed`` (inconclusive only): the items at which the observed |delta|, or the margin when
  |delta| < margin, would be detected with 80 % power: ⌈((z₁₋α/₂ + z₀.₈)·sd / effect)²⌉, never fewer than
  n + 1. None otherwise.

``gate`` turns a comparison into a CI verdict on the regression r = base − candidate, whose interval is
[−ci_high, −ci_low]. Default: fail only when a regression beyond ``max_regression`` is established (the
lower bound exceeds it), so noise alone does not fail a build. ``noninferiority=True``: pass only when the
upper bound is below ``max_regression`` (no items: fail).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np

from jurist.evaluation.paired_stats import holm, items_needed, mcnemar_exact, mde, mean_ci, wilcoxon

__all__ = [
    "Decision",
    "GateOutcome",
    "Paired",
    "adjusted",
    "compare_pass",
    "compare_scores",
    "decide",
    "gate",
    "holm",
]

Decision = Literal["better", "worse", "equivalent", "inconclusive"]
Kind = Literal["pass", "score"]


@dataclass(frozen=True)
class Paired:
    """One paired comparison of a candidate run with a base run (see the module docstring)."""

    kind: Kind
    n: int
    base: float
    candidate: float
    delta: float
    ci_low: float
    ci_high: float
    improved: int
    regressed: int
    same: int
    test: Literal["mcnemar_exact", "wilcoxon"]
    p_value: float
    p_adjusted: float
    decision: Decision
    mde: float | None
    items_needed: int | None

    def as_dict(self) -> dict[str, float | int | str | None]:
        return asdict(self)


def decide(
    delta: float, ci_low: float, ci_high: float, p_adjusted: float, alpha: float, margin: float
) -> Decision:
    """equivalent | better | worse | inconclusive, in that order of precedence."""
    if -margin < ci_low and ci_high < margin:
        return "equivalent"
    if p_adjusted < alpha and delta > 0:
        return "better"
    if p_adjusted < alpha and delta < 0:
        return "worse"
    return "inconclusive"


def _validate(base_len: int, candidate_len: int, alpha: float, margin: float, rounds: int) -> None:
    if base_len != candidate_len:
        raise ValueError(f"the runs must cover the same items: {base_len} base vs {candidate_len} candidate")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), not {alpha}")
    if not margin >= 0:
        raise ValueError(f"margin must be at least 0, not {margin}")
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, not {rounds}")


def _settle(result: Paired, p_adjusted: float, alpha: float, margin: float) -> Paired:
    """The result with its adjusted p-value, decision and items_needed (re)done."""
    decision: Decision = (
        "inconclusive"
        if result.n == 0
        else decide(result.delta, result.ci_low, result.ci_high, p_adjusted, alpha, margin)
    )
    needed = items_needed(result.n, result.delta, result.mde, margin) if decision == "inconclusive" else None
    return replace(result, p_adjusted=p_adjusted, decision=decision, items_needed=needed)


def _compare(
    kind: Kind,
    base: np.ndarray,
    candidate: np.ndarray,
    *,
    alpha: float,
    margin: float,
    rounds: int,
    seed: int,
) -> Paired:
    n = len(base)
    d = candidate - base
    improved, regressed = int(np.count_nonzero(d > 0)), int(np.count_nonzero(d < 0))
    p = mcnemar_exact(improved, regressed) if kind == "pass" else wilcoxon(d)
    ci_low, ci_high = mean_ci(d, alpha=alpha, rounds=rounds, seed=seed)
    raw = Paired(
        kind=kind,
        n=n,
        base=float(base.mean()) if n else 0.0,
        candidate=float(candidate.mean()) if n else 0.0,
        delta=float(d.mean()) if n else 0.0,
        ci_low=ci_low,
        ci_high=ci_high,
        improved=improved,
        regressed=regressed,
        same=n - improved - regressed,
        test="mcnemar_exact" if kind == "pass" else "wilcoxon",
        p_value=p,
        p_adjusted=p,
        decision="inconclusive",
        mde=mde(d, alpha),
        items_needed=None,
    )
    return _settle(raw, p, alpha, margin)


def compare_pass(
    base: Sequence[bool],
    candidate: Sequence[bool],
    *,
    alpha: float = 0.05,
    margin: float = 0.02,
    rounds: int = 2000,
    seed: int = 0,
) -> Paired:
    """Pass/fail of the same items in two runs (item i of ``base`` is item i of ``candidate``)."""
    _validate(len(base), len(candidate), alpha, margin, rounds)
    b = np.asarray(base, dtype=bool).astype(np.float64)
    c = np.asarray(candidate, dtype=bool).astype(np.float64)
    return _compare("pass", b, c, alpha=alpha, margin=margin, rounds=rounds, seed=seed)


def compare_scores(
    base: Sequence[float],
    candidate: Sequence[float],
    *,
    alpha: float = 0.05,
    margin: float = 0.02,
    rounds: int = 2000,
    seed: int = 0,
) -> Paired:
    """Scores of the same items in two runs (finite numbers; leave out items unscored in either run)."""
    _validate(len(base), len(candidate), alpha, margin, rounds)
    b = np.asarray(base, dtype=np.float64).reshape(-1)
    c = np.asarray(candidate, dtype=np.float64).reshape(-1)
    if not (np.isfinite(b).all() and np.isfinite(c).all()):
        raise ValueError("scores must be finite numbers (leave out the items without a score)")
    return _compare("score", b, c, alpha=alpha, margin=margin, rounds=rounds, seed=seed)


def adjusted(results: Sequence[Paired], alpha: float, margin: float) -> list[Paired]:
    """Holm across ``results`` (compared together, e.g. every criterion of a run), decisions redone.

    ``alpha`` should be the one the comparisons were made with: their intervals and MDEs are at that level.
    """
    corrected = holm([r.p_value for r in results])
    return [_settle(r, p, alpha, margin) for r, p in zip(results, corrected, strict=True)]


@dataclass(frozen=True)
class GateOutcome:
    """A CI verdict: ``passed``, why, and the regression (base − candidate) with its interval."""

    passed: bool
    reason: str
    regression: float
    regression_low: float
    regression_high: float


def _measure(result: Paired) -> str:
    return "pass rate" if result.kind == "pass" else "mean score"


def gate(result: Paired, max_regression: float, *, noninferiority: bool = False) -> GateOutcome:
    """Default: fail only when the regression's lower bound exceeds ``max_regression``.
    ``noninferiority``: pass only when the regression's upper bound is below ``max_regression``."""
    if not np.isfinite(max_regression):
        raise ValueError(f"max_regression must be a finite number, not {max_regression}")
    regression, low, high = -result.delta, -result.ci_high, -result.ci_low
    figures = (
        f"{_measure(result)} {result.base:.4f} → {result.candidate:.4f}, regression {regression:+.4f} "
        f"(CI {low:+.4f} to {high:+.4f}) over {result.n} items"
    )
    if result.n == 0:
        passed = not noninferiority
        reason = (
            "No items in both runs: non-inferiority cannot be shown."
            if noninferiority
            else "No items in both runs: no regression established."
        )
    elif noninferiority:
        passed = high < max_regression
        reason = (
            f"Non-inferior: {figures}; the upper bound is below {max_regression:.4f}."
            if passed
            else f"Non-inferiority not shown: {figures}; the upper bound is not below {max_regression:.4f}."
        )
    else:
        passed = not low > max_regression
        reason = (
            f"No regression beyond {max_regression:.4f} established: {figures}."
            if passed
            else f"Regression established: {figures}; the lower bound exceeds {max_regression:.4f}."
        )
    return GateOutcome(
        passed=passed, reason=reason, regression=regression, regression_low=low, regression_high=high
    )
