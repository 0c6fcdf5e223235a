"""Agreement with human labels: majority gold, annotator ties, inter-annotator figures, judge vs gold,
splits; every figure computed by hand in the comments."""

from __future__ import annotations

import pytest

from jurist.evaluation.agreement import LabeledLine, agreement, cohen_kappa, majority


def test_majority_and_cohen_kappa() -> None:
    assert majority(["1", "1", "2"]) == "1"
    assert majority(["1", "2"]) is None and majority([]) is None
    # judge 1,1,2 vs gold 1,2,2: observed 2/3, chance (2·1 + 1·2)/9 = 4/9, kappa (2/9)/(5/9) = 0.4
    assert cohen_kappa(["1", "1", "2"], ["1", "2", "2"]) == pytest.approx(0.4)
    assert cohen_kappa(["1"], ["1"]) is None  # chance agreement is total


def test_pairwise_agreement_by_hand() -> None:
    lines = [
        LabeledLine("a", "pairwise", "1", {"x": "1", "y": "1"}, swap_consistent=True),
        LabeledLine("b", "pairwise", "1", {"x": "2", "y": "2", "z": "1"}, swap_consistent=False),
        LabeledLine("c", "pairwise", "2", {"x": "2"}),
        LabeledLine("d", "pairwise", "tie", {"x": "1", "y": "2"}),  # annotators tie: excluded
        LabeledLine("e", "pairwise", None, {"x": "1"}),  # not scored: excluded
    ]
    result = agreement(lines, rounds=200, seed=1).pairwise
    assert result is not None and agreement(lines, rounds=200, seed=1).single is None
    assert (result.labeled_lines, result.annotator_ties, result.unjudged) == (5, 1, 1)
    judge = result.judge
    assert judge.n == 3 and judge.accuracy == pytest.approx(2 / 3)
    assert judge.cohen_kappa == pytest.approx(0.4)
    assert judge.confusion == {"1": {"1": 1}, "2": {"1": 1, "2": 1}}
    assert judge.accuracy_ci is not None and judge.accuracy_ci[0] <= 2 / 3 <= judge.accuracy_ci[1]
    # a: 1 of 1 pairs agree, b: 1 of 3, d: 0 of 1 → 4/9; pooled 1:4, 2:3 → chance 25/49
    inter = result.inter_annotator
    assert inter.lines == 3 and inter.percent_agreement == pytest.approx(4 / 9)
    assert inter.fleiss_kappa == pytest.approx((4 / 9 - 25 / 49) / (1 - 25 / 49))
    assert result.by_swap["consistent"].accuracy == 1.0 and result.by_swap["consistent"].n == 1
    assert result.by_swap["inconsistent"].accuracy == 0.0
    assert result.by_ensemble == {}


def test_single_agreement_by_hand() -> None:
    lines = [
        LabeledLine("s1", "single", 3, {"x": 3}, ensemble_unanimous=True),
        LabeledLine("s2", "single", 4, {"x": 2}, ensemble_unanimous=False),
        LabeledLine("s3", "single", 5, {"x": 4, "y": 4}, ensemble_unanimous=True),
    ]
    result = agreement(lines, rounds=100).single
    assert result is not None
    judge = result.judge
    assert judge.accuracy == pytest.approx(1 / 3) and judge.within_1 == pytest.approx(2 / 3)
    # judge 3,4,5 vs gold 3,2,4: pairs (s1,s2) discordant, the other two concordant → tau-b 1/3
    assert judge.kendall_tau_b == pytest.approx(1 / 3)
    assert judge.confusion == {"2": {"4": 1}, "3": {"3": 1}, "4": {"5": 1}}
    assert result.by_ensemble["unanimous"].n == 2 and result.by_ensemble["unanimous"].within_1 == 1.0
    assert result.by_ensemble["split"].accuracy == 0.0


def test_per_criterion_agreement_by_hand() -> None:
    def line(cid: str, judge: dict[str, int | None], labels: dict[str, dict[str, int | None]]) -> LabeledLine:
        return LabeledLine(cid, "single", 3, {a: 3 for a in labels}, judge_criteria=judge, criteria=labels)

    lines = [
        line("a", {"Acc": 4, "Flu": 3}, {"x": {"Acc": 4, "Flu": 2}}),
        line("b", {"Acc": 2, "Flu": 5}, {"x": {"Acc": 3}, "y": {"Acc": 3, "Flu": 5}}),
        line("c", {"Acc": 5, "Flu": None}, {"x": {"Acc": 1, "Flu": 4}}),  # judge N/A on Flu: left out
        line("d", {"Acc": 1}, {"x": {"Acc": 1}, "y": {"Acc": 2}}),  # annotators tie on Acc: left out
        line("e", {"Acc": 3}, {"x": {"Acc": None}, "y": {"Acc": None}, "z": {"Acc": 3}}),  # majority N/A
        LabeledLine("f", "single", 3, {"x": 3}, judge_criteria={"Acc": 4}),  # no criteria labels
    ]
    result = agreement(lines, rounds=50, seed=0).single
    assert result is not None
    acc, flu = result.criteria
    # Acc over a, b, c: judge 4, 2, 5 vs gold 4, 3, 1 → exact 1/3, within-1 2/3; pairs (a,b) +, (a,c) −,
    # (b,c) − → tau-b (1 − 2)/3 = −1/3
    assert (acc.name, acc.n) == ("Acc", 3)
    assert acc.exact == pytest.approx(1 / 3) and acc.within_1 == pytest.approx(2 / 3)
    assert acc.kendall_tau_b == pytest.approx(-1 / 3)
    # Flu over a, b: judge 3, 5 vs gold 2, 5 → exact 1/2, within-1 1, one concordant pair → tau-b 1
    assert (flu.name, flu.n, flu.exact, flu.within_1) == ("Flu", 2, 0.5, 1.0)
    assert flu.kendall_tau_b == pytest.approx(1.0)
    pairwise = agreement([LabeledLine("p", "pairwise", "1", {"x": "1"})], rounds=10).pairwise
    assert pairwise is not None and pairwise.criteria == []
