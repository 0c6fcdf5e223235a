"""Measuring a cascade of judges offline: the service's rule (``service.cascade``) replayed on labelled items.

Input, item-aligned over K stages: ``signal[k, i]``, stage k's raw confidence signal on item i, and
``agreed[k, i]``, whether stage k's verdict on item i agrees with the human. The rule, as the service
applies it with an agreement target:

- stage k's threshold is ``choose_threshold`` on the calibration items that reach stage k (all of them for
  the first stage; for the next, those the stages before escalated), tested at ``per_stage_delta(delta,
  K)``; a stage with no threshold accepts nothing (everything it sees escalates);
- an item is accepted at the first stage whose raw signal is at or above that stage's threshold; an item no
  stage accepts is abstained on (after the last stage ran);
- an item costs the calls of every stage run on it (the deciding one included; all K when abstained).

``evaluate`` chooses the thresholds on the calibration items and reports, on the test items, coverage,
agreement of the accepted verdicts (with its Clopper–Pearson interval), how many items each stage decided
and the mean calls per item. Arrays only, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from jurist.evaluation.binomial import clopper_pearson
from jurist.evaluation.selective import Selection, choose_threshold, per_stage_delta

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]

ABSTAINED = -1


def _arrays(signal: npt.ArrayLike, agreed: npt.ArrayLike | None = None) -> tuple[Floats, Bools | None]:
    s = np.atleast_2d(np.asarray(signal, dtype=np.float64))
    if s.ndim != 2 or s.shape[0] < 1:
        raise ValueError("signal must be a (stages, items) array")
    if agreed is None:
        return s, None
    a = np.atleast_2d(np.asarray(agreed, dtype=np.bool_))
    if a.shape != s.shape:
        raise ValueError(f"signal and agreed must have the same shape, not {s.shape} and {a.shape}")
    return s, a


def choose_thresholds(
    signal: npt.ArrayLike, agreed: npt.ArrayLike, target: float, delta: float, step: int | None = None
) -> list[Selection]:
    """Each stage's selection on the calibration items that reach it, at ``per_stage_delta(delta, K)``."""
    s, a = _arrays(signal, agreed)
    assert a is not None
    each = per_stage_delta(delta, s.shape[0])
    reaching = np.ones(s.shape[1], dtype=np.bool_)
    found: list[Selection] = []
    for k in range(s.shape[0]):
        selection = choose_threshold(s[k, reaching].tolist(), a[k, reaching].tolist(), target, each, step)
        found.append(selection)
        if selection.threshold is not None:
            reaching &= s[k] < selection.threshold
    return found


def decide(signal: npt.ArrayLike, thresholds: Sequence[float | None]) -> tuple[Ints, Ints]:
    """Per item: the stage that accepted it (``ABSTAINED`` when none did) and how many stages ran on it."""
    s, _ = _arrays(signal)
    if len(thresholds) != s.shape[0]:
        raise ValueError(f"{s.shape[0]} stages but {len(thresholds)} thresholds")
    stage = np.full(s.shape[1], ABSTAINED, dtype=np.int64)
    ran = np.zeros(s.shape[1], dtype=np.int64)
    pending = np.ones(s.shape[1], dtype=np.bool_)
    for k, cut in enumerate(thresholds):
        ran[pending] += 1
        if cut is None:
            continue
        accept = pending & (s[k] >= cut)
        stage[accept] = k
        pending &= ~accept
    return stage, ran


@dataclass(frozen=True)
class CascadeOutcome:
    """The cascade on a set of items: which stage decided each, what it cost, agreement of the accepted."""

    thresholds: tuple[float | None, ...]
    items: int
    reached: tuple[int, ...]  # items each stage ran on
    decided: tuple[int, ...]  # items each stage accepted
    agreed: tuple[int, ...]  # of those, how many agree with the human
    calls: float  # mean calls per item

    @property
    def accepted(self) -> int:
        return sum(self.decided)

    @property
    def abstained(self) -> int:
        return self.items - self.accepted

    @property
    def coverage(self) -> float:
        return self.accepted / self.items if self.items else 0.0

    @property
    def agreement(self) -> float | None:
        return sum(self.agreed) / self.accepted if self.accepted else None

    @property
    def agreement_ci(self) -> tuple[float, float]:
        return clopper_pearson(sum(self.agreed), self.accepted)

    @property
    def decided_share(self) -> tuple[float, ...]:
        return tuple(d / self.items if self.items else 0.0 for d in self.decided)

    def as_dict(self) -> dict[str, object]:
        return {
            "items": self.items,
            "thresholds": list(self.thresholds),
            "coverage": self.coverage,
            "agreement": self.agreement,
            "agreement_ci": list(self.agreement_ci),
            "stages": [
                {"reached": r, "decided": d, "agreed": g}
                for r, d, g in zip(self.reached, self.decided, self.agreed, strict=True)
            ],
            "abstained": self.abstained,
            "calls_per_item": self.calls,
        }


def outcome(
    signal: npt.ArrayLike,
    agreed: npt.ArrayLike,
    thresholds: Sequence[float | None],
    calls: Sequence[float],
) -> CascadeOutcome:
    """Fixed thresholds applied to labelled items; ``calls[k]`` is stage k's calls per item."""
    s, a = _arrays(signal, agreed)
    assert a is not None
    if len(calls) != s.shape[0]:
        raise ValueError(f"{s.shape[0]} stages but {len(calls)} call counts")
    stage, ran = decide(s, thresholds)
    cost = np.cumsum(np.asarray(calls, dtype=np.float64))
    per_item = cost[ran - 1]
    decided, agreed_at, reached = [], [], []
    for k in range(s.shape[0]):
        here = stage == k
        decided.append(int(here.sum()))
        agreed_at.append(int(a[k, here].sum()))
        reached.append(int((ran > k).sum()))
    return CascadeOutcome(
        thresholds=tuple(thresholds),
        items=s.shape[1],
        reached=tuple(reached),
        decided=tuple(decided),
        agreed=tuple(agreed_at),
        calls=float(per_item.mean()) if s.shape[1] else 0.0,
    )


def evaluate(
    signal: npt.ArrayLike,
    agreed: npt.ArrayLike,
    calibration: npt.ArrayLike,
    test: npt.ArrayLike,
    target: float,
    delta: float,
    calls: Sequence[float],
    step: int | None = None,
) -> tuple[list[Selection], CascadeOutcome]:
    """Thresholds chosen on the ``calibration`` items (indices), the cascade measured on the ``test`` ones."""
    s, a = _arrays(signal, agreed)
    assert a is not None
    cal = np.asarray(calibration, dtype=np.int64)
    held = np.asarray(test, dtype=np.int64)
    selections = choose_thresholds(s[:, cal], a[:, cal], target, delta, step)
    thresholds = [sel.threshold for sel in selections]
    return selections, outcome(s[:, held], a[:, held], thresholds, calls)
