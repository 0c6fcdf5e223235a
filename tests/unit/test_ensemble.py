"""Ensemble aggregation: plurality per order, the swap rule across orders, mean scores, agreement."""

from __future__ import annotations

import pytest

from jurist.judging.ensemble import aggregate_pairwise, aggregate_single, plurality, round_half_up
from jurist.judging.verdict import (
    CriterionScore,
    PairCriterionScore,
    PairwiseVerdict,
    SingleVerdict,
    Unscored,
)

LOST = Unscored("parse_failure", "unreadable")


def pair(winner: str, s1: int, s2: int, c1: int | None = 4, c2: int | None = 3) -> PairwiseVerdict:
    return PairwiseVerdict(winner, s1, s2, [PairCriterionScore("Accuracy", "r", c1, c2)], f"{winner} wins")  # type: ignore[arg-type]


def single(overall: int, criterion: int | None = None) -> SingleVerdict:
    return SingleVerdict(overall, [CriterionScore("Accuracy", "r", criterion)], f"scored {overall}")


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        ([], None),
        (["response_1"], "response_1"),
        (["response_1", "response_2", "response_1"], "response_1"),
        (["response_1", "response_2"], "tie"),  # shared top count
        (["tie", "tie", "response_2"], "tie"),
        (["response_1", "response_1", "response_2", "response_2", "tie"], "tie"),
    ],
)
def test_plurality(votes: list[str], expected: str | None) -> None:
    assert plurality(votes) == expected  # type: ignore[arg-type]


def test_three_samples_one_order_majority_and_agreement() -> None:
    result = aggregate_pairwise(
        [pair("response_1", 5, 2), pair("response_1", 4, 2), pair("response_2", 2, 4)]
    )
    assert isinstance(result.verdict, PairwiseVerdict)
    assert result.verdict.winner == "response_1"
    assert result.votes == {"response_1": 2, "response_2": 1, "tie": 0}
    assert result.agreement == pytest.approx(2 / 3)
    assert result.mean_scores == {"response_1": pytest.approx(11 / 3), "response_2": pytest.approx(8 / 3)}
    assert (result.verdict.score1, result.verdict.score2) == (4, 3)  # 3.67 → 4, 2.67 → 3
    assert result.consistent is None  # one order only
    assert result.verdict.summary == "response_1 wins"


def test_both_orders_agree_or_tie() -> None:
    given = [pair("response_1", 5, 2), pair("response_1", 4, 3), pair("tie", 3, 3)]
    back_agree = [pair("response_1", 4, 2), pair("response_2", 2, 4), pair("response_1", 5, 1)]
    agreed = aggregate_pairwise(given, back_agree)
    assert isinstance(agreed.verdict, PairwiseVerdict)
    assert agreed.consistent is True and agreed.verdict.winner == "response_1"
    assert agreed.agreement == pytest.approx(4 / 6)
    back_biased = [pair("response_2", 2, 5), pair("response_2", 3, 4), pair("response_1", 4, 3)]
    split = aggregate_pairwise(given, back_biased)
    assert isinstance(split.verdict, PairwiseVerdict)
    assert split.consistent is False and split.verdict.winner == "tie"
    assert "disagreed" in split.verdict.summary
    assert split.votes == {"response_1": 3, "response_2": 2, "tie": 1}
    assert split.agreement == pytest.approx(1 / 6)


def test_unscored_games_are_left_out_and_never_become_scores() -> None:
    result = aggregate_pairwise([LOST, pair("response_2", 1, 5, None, None)], [LOST])
    assert isinstance(result.verdict, PairwiseVerdict) and result.verdict.winner == "response_2"
    assert result.consistent is None  # the swapped order has no scored game
    assert result.verdict.criteria[0].score1 is None  # N/A everywhere stays N/A
    nothing = aggregate_pairwise([LOST], [LOST])
    assert nothing.verdict is LOST and nothing.agreement is None
    assert nothing.mean_scores == {"response_1": None, "response_2": None}


def test_single_mean_rounding_and_agreement() -> None:
    result = aggregate_single([single(4, 4), single(5, None), single(4, 3), LOST])
    assert isinstance(result.verdict, SingleVerdict)
    assert result.mean_score == pytest.approx(13 / 3)
    assert result.verdict.overall == 4
    assert result.votes == {4: 2, 5: 1}
    assert result.agreement == pytest.approx(2 / 3)
    assert result.verdict.criteria[0].score == 4  # mean of 4 and 3 (N/A left out), half up
    assert aggregate_single([LOST]).verdict is LOST


def test_round_half_up() -> None:
    assert [round_half_up(v) for v in (2.5, 3.5, 2.49, None)] == [3, 4, 2, None]
