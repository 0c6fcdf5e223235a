"""Selective verdicts: accept a verdict when its confidence reaches a threshold λ chosen so that, with
probability at least 1 − δ over the labelled calibration items, humans agree with the accepted verdicts
at rate ≥ 1 − α on new items drawn like them (exchangeability).

λ is chosen by fixed-sequence testing (Learn-then-Test): candidate thresholds from strict to lenient; at
each, with n calibration items at or above it and e of them disagreed with, the exact binomial p-value
P(Binomial(n, α) ≤ e) must be ≤ δ to go on; the first failure stops, and the last candidate that passed is
λ. No candidate passing means no threshold supports the target: abstain on everything, with the reason.

The candidates are a grid over the calibration confidences, built without the labels (so the order is fixed
before they are looked at): the confidence of the ``step``-th, ``2·step``-th, … most confident item, then
the least confident one (accept everything). By default ``step`` = max(2·m, ⌈N/20⌉) items, m being the
fewest items that could pass at all ((1 − α)^m ≤ δ) and N the calibration items. ``step=1`` tests every
distinct confidence value; that is valid too, but the first candidates then hold barely m items and one
unlucky disagreement among them stops the sequence at almost no coverage (measured in docs/benchmarks.md
§9). A signal with at most 20 distinct values (swap consistency, vote shares) has each value tested.
Candidates with fewer than m items are skipped (that depends on the confidences only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jurist.evaluation.binomial import binom_cdf, clopper_pearson


def validate(target: float, delta: float) -> None:
    """``ValueError`` naming the field when the agreement target or delta is out of range."""
    if not 0.5 < target < 1:
        raise ValueError(f"agreement_target must be in (0.5, 1), not {target}")
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1), not {delta}")


def per_stage_delta(delta: float, stages: int) -> float:
    """A cascade's stages are each tested at delta / stages (Bonferroni): each stage's accepted
    verdicts keep the target with probability ≥ 1 − delta/stages, so all of them at once (and so their
    union, an average of sets that each keep it) with probability ≥ 1 − delta."""
    if stages < 1:
        raise ValueError(f"stages must be at least 1, not {stages}")
    return delta / stages


def min_items(target: float, delta: float) -> int:
    """The fewest accepted items with which the test can pass at all (all of them agreed with)."""
    return math.ceil(math.log(delta) / math.log(target))


@dataclass(frozen=True)
class Accepted:
    """Verdicts accepted at a threshold: coverage, and agreement on the accepted ones (if labelled)."""

    items: int
    accepted: int
    agreed: int | None

    @property
    def coverage(self) -> float:
        return self.accepted / self.items if self.items else 0.0

    @property
    def agreement(self) -> float | None:
        return None if self.agreed is None or not self.accepted else self.agreed / self.accepted

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"items": self.items, "accepted": self.accepted, "coverage": self.coverage}
        if self.agreed is not None:
            out["agreement"] = self.agreement
            out["agreement_ci"] = list(clopper_pearson(self.agreed, self.accepted))
        return out


@dataclass(frozen=True)
class Selection:
    target: float
    delta: float
    threshold: float | None  # None: abstain on everything
    reason: str
    calibration: Accepted

    def accept(self, confidence: Sequence[float]) -> list[bool]:
        if self.threshold is None:
            return [False] * len(confidence)
        return [float(c) >= self.threshold for c in confidence]

    def apply(self, confidence: Sequence[float], agreed: Sequence[bool] | None = None) -> Accepted:
        """Accept or abstain on new items; agreement among the accepted when they are labelled."""
        accepted = self.accept(confidence)
        hits = None
        if agreed is not None:
            if len(agreed) != len(confidence):
                raise ValueError("confidence and agreed must be the same length")
            hits = sum(1 for a, y in zip(accepted, agreed, strict=True) if a and y)
        return Accepted(len(confidence), sum(accepted), hits)

    def as_dict(self) -> dict[str, object]:
        return {
            "agreement_target": self.target,
            "delta": self.delta,
            "threshold": self.threshold,
            "reason": self.reason,
            "calibration": self.calibration.as_dict(),
        }


FEW_VALUES = 20


def default_step(items: int, target: float, delta: float) -> int:
    return max(2 * min_items(target, delta), math.ceil(items / 20))


def candidates(confidence: Sequence[float], step: int) -> list[float]:
    """Strict to lenient: the confidence of every ``step``-th most confident item, then the lowest."""
    if step < 1:
        raise ValueError(f"step must be at least 1, not {step}")
    ranked = np.sort(np.asarray(confidence, dtype=np.float64))[::-1]
    distinct = np.unique(ranked)[::-1]
    if len(distinct) <= FEW_VALUES:
        return [float(v) for v in distinct]
    picked = [*ranked[step - 1 :: step].tolist(), float(ranked[-1])]
    return [float(v) for v in np.unique(picked)[::-1]]


def choose_threshold(
    confidence: Sequence[float],
    agreed: Sequence[bool],
    target: float,
    delta: float,
    step: int | None = None,
) -> Selection:
    """λ by fixed-sequence testing over ``candidates(confidence, step)`` (``step`` defaults as above)."""
    validate(target, delta)
    if len(confidence) != len(agreed):
        raise ValueError("confidence and agreed must be the same length")
    alpha = 1 - target
    c = np.asarray(confidence, dtype=np.float64)
    wrong = ~np.asarray(agreed, dtype=bool)
    need = min_items(target, delta)
    chosen: float | None = None
    reason = ""
    for candidate in candidates(confidence, step or default_step(len(confidence), target, delta)):
        at = c >= candidate
        n = int(at.sum())
        if n < need:
            continue
        e = int(wrong[at].sum())
        p = binom_cdf(e, n, alpha)
        if p > delta:
            reason = (
                f"at confidence ≥ {candidate:.4g}: {e} of {n} calibration items disagreed with "
                f"(p = {p:.3g} > delta {delta})"
            )
            break
        chosen = float(candidate)
    if chosen is None:
        if not reason:
            reason = f"too few calibration items: at least {need} are needed"
        reason = f"no threshold supports agreement ≥ {target} at delta {delta}; " + reason
        return Selection(target, delta, None, reason, Accepted(len(c), 0, 0))
    reason = (
        f"the most lenient threshold that passed; the next one stopped the test: {reason}"
        if reason
        else "every candidate threshold passed"
    )
    at = c >= chosen
    calibration = Accepted(len(c), int(at.sum()), int((~wrong[at]).sum()))
    return Selection(target, delta, chosen, reason, calibration)
