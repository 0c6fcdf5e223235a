"""Position-bias control: judge a pair in both orders and reconcile the two games.

Game 1 shows (answer1, answer2); game 2 shows (answer2, answer1) and is mapped back to the caller's
order. Agreeing games give that winner; disagreeing games give a tie (FastChat's rule). Scores are the
mean of both games; a criterion N/A in both stays N/A.
"""

from __future__ import annotations

import math

from jurist.judging.items import PairwiseItem
from jurist.judging.verdict import PairCriterionScore, PairwiseVerdict, Unscored, Winner

_FLIP: dict[Winner, Winner] = {"response_1": "response_2", "response_2": "response_1", "tie": "tie"}


def swapped(item: PairwiseItem) -> PairwiseItem:
    return item.model_copy(update={"answer1": item.answer2, "answer2": item.answer1})


def unswap(verdict: PairwiseVerdict) -> PairwiseVerdict:
    """A verdict on the swapped pair, expressed in the original order."""
    return PairwiseVerdict(
        _FLIP[verdict.winner],
        verdict.score2,
        verdict.score1,
        [PairCriterionScore(c.name, c.reason, c.score2, c.score1) for c in verdict.criteria],
        verdict.summary,
    )


def _mean(a: int | None, b: int | None) -> float | None:
    values = [v for v in (a, b) if v is not None]
    return sum(values) / len(values) if values else None


def _round(value: float | None) -> int | None:
    return None if value is None else math.floor(value + 0.5)


def reconcile(
    first: PairwiseVerdict | Unscored, second: PairwiseVerdict | Unscored
) -> tuple[PairwiseVerdict | Unscored, bool | None, dict[str, float | None]]:
    """(reconciled verdict, consistent?, mean overall scores). ``second`` is already unswapped."""
    if isinstance(first, Unscored) and isinstance(second, Unscored):
        return first, None, {"response_1": None, "response_2": None}
    if isinstance(first, Unscored) or isinstance(second, Unscored):
        only = second if isinstance(first, Unscored) else first
        assert isinstance(only, PairwiseVerdict)
        return only, None, {"response_1": only.score1, "response_2": only.score2}
    consistent = first.winner == second.winner
    winner: Winner = first.winner if consistent else "tie"
    mean1, mean2 = _mean(first.score1, second.score1), _mean(first.score2, second.score2)
    by_name = {c.name: c for c in second.criteria}
    criteria = []
    for c in first.criteria:
        other = by_name.get(c.name)
        if other is None:
            criteria.append(c)
            continue
        criteria.append(
            PairCriterionScore(
                c.name,
                c.reason,
                _round(_mean(c.score1, other.score1)),
                _round(_mean(c.score2, other.score2)),
            )
        )
    summary = (
        first.summary
        if consistent
        else (f"{first.summary} The two orders disagreed, so the verdict is a tie.".strip())
    )
    verdict = PairwiseVerdict(winner, _round(mean1), _round(mean2), criteria, summary)
    return verdict, consistent, {"response_1": mean1, "response_2": mean2}
