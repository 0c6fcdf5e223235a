"""Head to head: how often a pairwise judge prefers the candidate's answer to the base's, item by item.

Each judged item has the candidate's win value w (1 a win, 0.5 a tie, 0 a loss) and, when the judge
played both orders, whether the two orders agreed (``consistent``; a pair the orders disagree on is a
tie, so position bias shows as ties, not as wins).

- ``win_rate``: mean(w), the candidate's expected score against the base (a tie counts half), with the
  paired percentile-bootstrap interval of ``paired_stats.mean_ci`` (seeded).
- ``tie_rate``, ``position_consistency``: proportions with Clopper–Pearson exact intervals.
- ``p_value``: the exact sign test on wins against losses (ties dropped; McNemar's exact test is the
  same binomial test), two-sided.
- ``decision`` (``paired.decide`` on win_rate − ½, with the interval shifted alike): ``equivalent`` when
  the interval lies inside ½ ± margin, ``better`` / ``worse`` when p < alpha and the candidate wins
  more / less than it loses, otherwise ``inconclusive`` with ``items_needed`` (the items at which the
  observed effect, or the margin, would be detected with 80 % power).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from jurist.evaluation.binomial import clopper_pearson
from jurist.evaluation.paired import Decision, decide
from jurist.evaluation.paired_stats import items_needed, mcnemar_exact, mde, mean_ci


@dataclass(frozen=True)
class Rate:
    estimate: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True)
class HeadToHead:
    n: int  # items judged
    candidate_wins: int
    base_wins: int
    ties: int
    win_rate: Rate
    tie_rate: Rate
    position_consistency: Rate | None  # None when no item was judged in both orders
    p_value: float
    decision: Decision
    mde: float | None
    items_needed: int | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _proportion(hits: int, n: int, alpha: float) -> Rate:
    if n == 0:
        return Rate(0.0, 0.0, 0.0, 0)
    low, high = clopper_pearson(hits, n, level=1.0 - alpha)
    return Rate(hits / n, low, high, n)


def head_to_head(
    wins: Sequence[float],
    consistent: Sequence[bool | None],
    *,
    alpha: float = 0.05,
    margin: float = 0.02,
    rounds: int = 2000,
    seed: int = 0,
) -> HeadToHead:
    """The head-to-head figures of the candidate's win values ``wins`` (module docstring)."""
    if len(wins) != len(consistent):
        raise ValueError(f"{len(wins)} win values but {len(consistent)} consistency flags")
    w = np.asarray(wins, dtype=np.float64)
    if np.any((w != 0) & (w != 0.5) & (w != 1)):
        raise ValueError("a win value is 1 (win), 0.5 (tie) or 0 (loss)")
    n = int(w.size)
    won, lost = int(np.count_nonzero(w == 1)), int(np.count_nonzero(w == 0))
    tied = n - won - lost
    centred = w - 0.5
    low, high = mean_ci(centred, alpha=alpha, rounds=rounds, seed=seed)
    delta = float(centred.mean()) if n else 0.0
    p = mcnemar_exact(won, lost)
    decision: Decision = "inconclusive" if n == 0 else decide(delta, low, high, p, alpha, margin)
    detectable = mde(centred, alpha)
    played = [c for c in consistent if c is not None]
    return HeadToHead(
        n=n,
        candidate_wins=won,
        base_wins=lost,
        ties=tied,
        win_rate=Rate(delta + 0.5, low + 0.5, high + 0.5, n),
        tie_rate=_proportion(tied, n, alpha),
        position_consistency=_proportion(sum(played), len(played), alpha) if played else None,
        p_value=p,
        decision=decision,
        mde=detectable,
        items_needed=(
            items_needed(n, delta, detectable, margin) if decision == "inconclusive" and n else None
        ),
    )
