"""Position-bias control: the pair with its answers swapped, and a verdict on the swapped pair mapped
back to the caller's order. The rules that reconcile the two orders are ``ensemble.aggregate_pairwise``'s.
"""

from __future__ import annotations

from jurist.judging.verdict import PairCriterionScore, PairwiseVerdict, Winner
from jurist.protocol.items import PairwiseItem

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
