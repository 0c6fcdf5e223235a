"""Aggregating several games (samples, and both orders of a pair) into one verdict.

Rules, the same for one game per order (plain position-bias control) and for N samples per order
(``pai-judge-plus``):

- pairwise, one order: the winner with a strict plurality of the scored games' votes; a shared top
  count is a tie.
- pairwise, both orders: the plurality of each order's games; if the two orders agree that is the
  winner (``consistent``), otherwise a tie (FastChat's rule). An order with no scored game defers to
  the other (``consistent`` is then unknown).
- scores: the mean over every scored game (a criterion N/A in all games stays N/A); the integer score
  is the mean rounded half up. ``agreement`` is the share of scored games that voted for the final
  winner (single mode: that gave the final score).
- no scored game at all: the first game's ``Unscored`` verdict. Never a made-up score.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from jurist.judging.verdict import (
    CriterionScore,
    PairCriterionScore,
    PairwiseVerdict,
    SingleVerdict,
    Unscored,
    Winner,
)

Game = PairwiseVerdict | Unscored
SingleGame = SingleVerdict | Unscored


@dataclass(frozen=True)
class PairwiseAggregate:
    verdict: PairwiseVerdict | Unscored
    consistent: bool | None  # both orders judged: did their majorities agree?
    votes: dict[Winner, int]
    agreement: float | None
    mean_scores: dict[str, float | None]


@dataclass(frozen=True)
class SingleAggregate:
    verdict: SingleVerdict | Unscored
    votes: dict[int, int]
    agreement: float | None
    mean_score: float | None


def mean(values: Sequence[float | int | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def round_half_up(value: float | None) -> int | None:
    return None if value is None else math.floor(value + 0.5)


def plurality(winners: Sequence[Winner]) -> Winner | None:
    """The strict plurality; a shared top count is a tie; no votes → None."""
    if not winners:
        return None
    ranked = Counter(winners).most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return "tie"
    return ranked[0][0]


def _pair_criteria(games: list[PairwiseVerdict]) -> list[PairCriterionScore]:
    first = games[0]
    out = []
    for c in first.criteria:
        same = [next((o for o in g.criteria if o.name == c.name), None) for g in games]
        found = [o for o in same if o is not None]
        out.append(
            PairCriterionScore(
                c.name,
                c.reason,
                round_half_up(mean([o.score1 for o in found])),
                round_half_up(mean([o.score2 for o in found])),
            )
        )
    return out


def aggregate_pairwise(as_given: Sequence[Game], swapped: Sequence[Game] = ()) -> PairwiseAggregate:
    """Games already mapped back to the caller's order (see ``reconcile.unswap``)."""
    given = [g for g in as_given if isinstance(g, PairwiseVerdict)]
    back = [g for g in swapped if isinstance(g, PairwiseVerdict)]
    scored = given + back
    votes: dict[Winner, int] = {"response_1": 0, "response_2": 0, "tie": 0}
    for g in scored:
        votes[g.winner] += 1
    if not scored:
        first = next(iter([*as_given, *swapped]))
        assert isinstance(first, Unscored)
        return PairwiseAggregate(first, None, votes, None, {"response_1": None, "response_2": None})
    one, two = plurality([g.winner for g in given]), plurality([g.winner for g in back])
    consistent = None if one is None or two is None or not swapped else one == two
    if one is not None and two is not None:
        winner: Winner = one if one == two else "tie"
    else:
        winner = one or two or "tie"
    mean1, mean2 = mean([g.score1 for g in scored]), mean([g.score2 for g in scored])
    lead = next((g for g in scored if g.winner == winner), scored[0])
    summary = lead.summary
    if consistent is False:
        summary = f"{summary} The two orders disagreed, so the verdict is a tie.".strip()
    verdict = PairwiseVerdict(
        winner, round_half_up(mean1), round_half_up(mean2), _pair_criteria(scored), summary
    )
    agreement = votes[winner] / len(scored)
    return PairwiseAggregate(
        verdict, consistent, votes, agreement, {"response_1": mean1, "response_2": mean2}
    )


def aggregate_single(games: Sequence[SingleGame]) -> SingleAggregate:
    scored = [g for g in games if isinstance(g, SingleVerdict)]
    votes = dict(sorted(Counter(g.overall for g in scored).items()))
    if not scored:
        first = games[0]
        assert isinstance(first, Unscored)
        return SingleAggregate(first, votes, None, None)
    overall_mean = mean([g.overall for g in scored])
    overall = round_half_up(overall_mean)
    assert overall is not None
    criteria = []
    for c in scored[0].criteria:
        same = [next((o for o in g.criteria if o.name == c.name), None) for g in scored]
        criteria.append(
            CriterionScore(c.name, c.reason, round_half_up(mean([o.score for o in same if o is not None])))
        )
    lead = min(scored, key=lambda g: abs(g.overall - overall))
    agreement = votes.get(overall, 0) / len(scored)
    return SingleAggregate(SingleVerdict(overall, criteria, lead.summary), votes, agreement, overall_mean)
