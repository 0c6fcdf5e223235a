"""Position-bias control: judge a pair in both orders and reconcile the two games.

Game 1 shows (answer1, answer2); game 2 shows (answer2, answer1) and is mapped back to the caller's
order. Agreeing games give that winner; disagreeing games give a tie (FastChat's rule). Scores are the
mean of both games; a criterion N/A in both stays N/A.
"""

from __future__ import annotations

from jurist.judging.ensemble import aggregate_pairwise
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


def reconcile(
    first: PairwiseVerdict | Unscored, second: PairwiseVerdict | Unscored
) -> tuple[PairwiseVerdict | Unscored, bool | None, dict[str, float | None]]:
    """(reconciled verdict, consistent?, mean overall scores). ``second`` is already unswapped.
    One game per order of ``ensemble.aggregate_pairwise``."""
    result = aggregate_pairwise([first], [second])
    return result.verdict, result.consistent, result.mean_scores
