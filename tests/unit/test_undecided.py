"""Undecided items: a judgment with a side missing (no confidence, no ``result_swapped``) or without a
verdict is counted at the lowest confidence, never refused or dropped, in ``jurist eval``'s calibration
and evaluated sets alike; a labelled batch line whose verdict is unscored gives a calibration point the
same way (``service.calibrations.fact_points``)."""

from __future__ import annotations

from jurist.evaluation.datasets import PairItem
from jurist.evaluation.selective_eval import JudgedItem, selective_report
from jurist.protocol.judgment import CascadeStage, PairwiseJudgment, SingleJudgment
from jurist.service.trust.calibrations import UNDECIDED_SIGNAL, Point, fact_points
from jurist.service.trust.line_facts import judgment_facts
from tests.support.report_lines import pair_judgment


def pairs(prefix: str, n: int) -> list[PairItem]:
    return [PairItem(f"{prefix}{i}", "q", "a", "b", 1) for i in range(n)]


def consistent(right: bool) -> JudgedItem:
    verdict = 1 if right else 2
    return JudgedItem(verdict, verdict)


def test_items_with_a_side_missing_are_counted_as_undecided_at_the_lowest_confidence() -> None:
    """60 consistent right verdicts (signal 1) and 10 undecided ones without a verdict (missing from the
    file or unparseable): at confidence ≥ 0 the 10 are 10 disagreements among 70, which stops the test,
    so the threshold is 1; left out, everything (all right) would have been accepted."""
    calibration = pairs("c", 70)
    cal_judged = {f"c{i}": consistent(True) for i in range(60)}
    cal_judged |= {f"c{i}": JudgedItem(None, 1) for i in range(60, 65)}  # unparseable; c65..c69 absent
    items = pairs("t", 4)
    judged = {"t0": consistent(True), "t1": JudgedItem(1), "t2": JudgedItem(2, None)}  # t3 absent
    found = selective_report(calibration, cal_judged, items, judged, 0.9, 0.1)
    assert found["threshold"] == 1.0
    cal = found["calibration"]
    assert isinstance(cal, dict)
    assert (cal["items"], cal["accepted"], cal["undecided"]) == (70, 60, 10)
    assert cal["undecided_ids"] == [f"c{i}" for i in range(60, 70)]
    test = found["test"]
    assert isinstance(test, dict)
    assert (test["items"], test["accepted"], test["undecided"]) == (4, 1, 3)
    assert test["undecided_ids"] == ["t1", "t2", "t3"] and test["coverage"] == 0.25
    calibrator = found["calibrator"]
    assert isinstance(calibrator, dict) and calibrator["n"] == 70  # the calibrator counts them too


def test_an_accepted_undecided_item_keeps_its_verdict_and_one_without_counts_as_wrong() -> None:
    """Everything in the calibration set is right (the undecided ones too: their given verdict is the
    label), so every item is accepted, down to the lowest confidence; on the evaluated set the undecided
    item with a verdict agrees, the one without a verdict does not."""
    calibration = pairs("c", 65)
    cal_judged = {f"c{i}": consistent(True) for i in range(60)} | {
        f"c{i}": JudgedItem(1) for i in range(60, 65)
    }
    items = pairs("t", 12)
    judged = {f"t{i}": consistent(True) for i in range(10)} | {"t10": JudgedItem(1)}  # t11 absent
    found = selective_report(calibration, cal_judged, items, judged, 0.9, 0.1)
    assert found["threshold"] == UNDECIDED_SIGNAL == 0.0
    test = found["test"]
    assert isinstance(test, dict)
    assert (test["accepted"], test["undecided"], test["coverage"]) == (12, 2, 1.0)
    assert test["agreement"] == 11 / 12 and found["guarantee_held"] is True


def test_the_lowest_confidence_is_below_every_given_one() -> None:
    """Confidences on another scale (here negative): the undecided items sit at the lowest one given in
    either set (-7.5, an evaluated item's), below the calibration's least confident decided items."""
    calibration = pairs("c", 40)
    cal_judged = {f"c{i}": JudgedItem(1, confidence=5.0) for i in range(30)}
    cal_judged |= {f"c{i}": JudgedItem(1, confidence=-3.0) for i in range(30, 38)}
    cal_judged |= {"c38": JudgedItem(2), "c39": JudgedItem(2)}  # undecided, wrong
    items = pairs("t", 3)
    judged = {"t0": JudgedItem(1, confidence=-7.5), "t1": JudgedItem(1, confidence=9.0), "t2": JudgedItem(1)}
    found = selective_report(calibration, cal_judged, items, judged, 0.9, 0.1)
    assert found["threshold"] == -3.0  # 38 right at ≥ -3 pass; the 2 undecided wrong ones stop the test
    reason = found["reason"]
    assert isinstance(reason, str) and "at confidence ≥ -7.5: 2 of 40 calibration items" in reason
    test = found["test"]
    assert isinstance(test, dict) and test["accepted"] == 1 and test["undecided_ids"] == ["t2"]


def judgment(winner: str | None, confidence: float | None) -> PairwiseJudgment:
    data = pair_judgment(winner) | {"confidence": confidence, "calibrated": False}
    return PairwiseJudgment.model_validate(data)


def line_points(
    model: str, judgment: PairwiseJudgment | SingleJudgment, gold: object, cascades: set[str]
) -> list[Point]:
    return fact_points(judgment_facts(model, judgment), gold, cascades)


def test_a_labelled_unscored_line_is_an_undecided_point() -> None:
    assert line_points("pai-judge", judgment("response_1", 0.9), "1", set()) == [
        Point("pai-judge", "pairwise", 0.9, True)
    ]
    assert line_points("pai-judge", judgment(None, None), "1", set()) == [
        Point("pai-judge", "pairwise", UNDECIDED_SIGNAL, False, undecided=True)
    ]
    # a verdict without a signal: at the lowest confidence, agreeing as its verdict does
    assert line_points("pai-judge", judgment("response_2", None), "2", set()) == [
        Point("pai-judge", "pairwise", UNDECIDED_SIGNAL, True, undecided=True)
    ]
    assert line_points("pai-judge", judgment(None, None), None, set()) == []  # no gold: no point
    single = SingleJudgment(mode="single", scored=False, score_range=(1, 5), parsed_by="unscored", attempts=2)
    assert line_points("pai-judge", single, 4, set()) == [
        Point("pai-judge", "single", UNDECIDED_SIGNAL, False, undecided=True)
    ]


def test_an_unscored_cascade_stage_is_an_undecided_point_of_its_model() -> None:
    stages = [
        CascadeStage(model="pai-judge", verdict="response_1", confidence=0.4, threshold=0.8),
        CascadeStage(model="pai-judge-plus", verdict=None, confidence=None, threshold=0.8),
    ]
    line = judgment(None, None).model_copy(update={"cascade": stages})
    assert line_points("pai-judge-auto", line, "1", {"pai-judge-auto"}) == [
        Point("pai-judge", "pairwise", 0.4, True),
        Point("pai-judge-plus", "pairwise", UNDECIDED_SIGNAL, False, undecided=True),
    ]
