"""Position-bias control: both orders, mapped back and reconciled (one game per order)."""

from __future__ import annotations

from jurist.judging.ensemble import aggregate_pairwise
from jurist.judging.reconcile import swapped, unswap
from jurist.judging.verdict import PairCriterionScore, PairwiseVerdict, Unscored
from jurist.protocol.items import PairwiseItem


def reconcile(
    first: PairwiseVerdict | Unscored, second: PairwiseVerdict | Unscored
) -> tuple[object, bool | None, object]:
    result = aggregate_pairwise([first], [second])
    return result.verdict, result.consistent, result.mean_scores


def verdict(winner: str, s1: int, s2: int, c1: int | None = 4, c2: int | None = 3) -> PairwiseVerdict:
    return PairwiseVerdict(winner, s1, s2, [PairCriterionScore("Accuracy", "r", c1, c2)], "sum")  # type: ignore[arg-type]


def test_swapped_item_and_unswap_round_trip() -> None:
    item = PairwiseItem(question="q", answer1="a", answer2="b")
    assert (swapped(item).answer1, swapped(item).answer2) == ("b", "a")
    v = verdict("response_1", 5, 2, 5, None)
    back = unswap(v)
    assert (back.winner, back.score1, back.score2) == ("response_2", 2, 5)
    assert (back.criteria[0].score1, back.criteria[0].score2) == (None, 5)
    assert unswap(back) == v


def test_agreeing_games_keep_the_winner_and_average_scores() -> None:
    first = verdict("response_1", 5, 2)
    second_seen_swapped = verdict("response_2", 1, 4)  # judge saw (b, a) and preferred a
    result, consistent, means = reconcile(first, unswap(second_seen_swapped))
    assert consistent is True
    assert isinstance(result, PairwiseVerdict) and result.winner == "response_1"
    assert means == {"response_1": 4.5, "response_2": 1.5}
    assert (result.score1, result.score2) == (5, 2)  # half rounds up


def test_disagreeing_games_are_a_tie() -> None:
    first = verdict("response_1", 4, 3)
    second_seen_swapped = verdict("response_1", 4, 3)  # position bias: always the first shown
    result, consistent, _ = reconcile(first, unswap(second_seen_swapped))
    assert consistent is False
    assert isinstance(result, PairwiseVerdict) and result.winner == "tie"
    assert (result.score1, result.score2) == (4, 4)
    assert "disagreed" in result.summary


def test_na_criteria_and_unscored_games() -> None:
    a = verdict("tie", 3, 3, None, None)
    b = verdict("tie", 3, 3, None, 2)
    result, _, _ = reconcile(a, b)
    assert isinstance(result, PairwiseVerdict)
    assert (result.criteria[0].score1, result.criteria[0].score2) == (None, 2)
    lost = Unscored("parse_failure", "x")
    only, consistent, _ = reconcile(lost, a)
    assert only == a and consistent is None
    both, consistent, _ = reconcile(lost, lost)
    assert isinstance(both, Unscored) and consistent is None
