"""Head-to-head figures (evaluation.head_to_head) and label-anchored figures (service.evals.anchored)."""

from __future__ import annotations

import numpy as np
import pytest

from jurist.evaluation.head_to_head import head_to_head
from jurist.service.evals.anchored import delta_figures, dense, figure, mean_labels, run_figures
from jurist.store.labels import LabelRecord


def test_a_candidate_that_always_wins_is_better() -> None:
    found = head_to_head([1.0] * 30, [True] * 30)
    assert (found.candidate_wins, found.base_wins, found.ties) == (30, 0, 0)
    assert (
        found.win_rate.estimate == pytest.approx(1.0) and found.decision == "better" and found.p_value < 1e-8
    )
    assert found.position_consistency is not None and found.position_consistency.estimate == 1.0
    assert found.items_needed is None


def test_ties_and_even_splits_are_not_called_a_winner() -> None:
    even = head_to_head([1.0, 0.0] * 10 + [0.5] * 10, [None] * 30)
    assert even.win_rate.estimate == pytest.approx(0.5) and even.decision == "inconclusive"
    assert (
        even.tie_rate.estimate == pytest.approx(1 / 3)
        and even.tie_rate.ci_low < 1 / 3 < even.tie_rate.ci_high
    )
    assert even.position_consistency is None and even.items_needed is not None and even.items_needed > 30
    many = head_to_head([1.0, 0.0] * 5000, [True, False] * 5000, margin=0.05)
    assert many.decision == "equivalent" and many.position_consistency is not None
    assert many.position_consistency.estimate == pytest.approx(0.5)


def test_nothing_judged_and_bad_values() -> None:
    empty = head_to_head([], [])
    assert empty.n == 0 and empty.decision == "inconclusive" and empty.items_needed is None
    with pytest.raises(ValueError, match="win value"):
        head_to_head([0.7], [None])
    with pytest.raises(ValueError, match="flags"):
        head_to_head([1.0], [])


def _label(row: str, label: object, who: str = "a") -> LabelRecord:
    return LabelRecord("t", "batch", row, who, label, None, 0)  # type: ignore[arg-type]


def test_labels_are_averaged_per_row_and_foreign_lines_ignored() -> None:
    records = [_label("row-0", "1"), _label("row-0", "tie", "b"), _label("row-1", "2"), _label("line-7", "1")]
    assert mean_labels(records, pairwise=True) == {0: 0.75, 1: 0.0}
    scores = [_label("row-3", 4), _label("row-3", 2, "b"), _label("row-4", True)]
    assert mean_labels(scores, pairwise=False) == {3: 3.0}


def test_a_figure_needs_two_labels_and_anchors_a_biased_judge() -> None:
    judge = np.ones(100)  # the judge passes everything
    assert figure(judge, dense({0: 1.0}, 100), 0.1, (0.0, 1.0)) is None
    truths = dense({row: float(row % 2) for row in range(40)}, 100)  # the humans pass half
    found = figure(judge, truths, 0.1, (0.0, 1.0))
    assert found is not None and found["judge_only"]["estimate"] == pytest.approx(1.0)  # type: ignore[index]
    ppi = found["ppi"]
    assert ppi["n_labeled"] == 40 and ppi["ci_low"] < 0.5 < ppi["ci_high"]  # type: ignore[index, operator]
    assert dense({5: 1.0, 200: 1.0}, 10)[5] == 1.0  # rows beyond the size are left out


def test_run_and_delta_figures() -> None:
    base, candidate = np.full(20, 2.0), np.full(20, 4.0)
    base[19] = np.nan  # an errored row: left out of the base's figures and of the delta
    truths = (dense({row: 2.0 for row in range(10)}, 20), dense({row: 5.0 for row in range(10)}, 20))
    one = run_figures(base, truths[0], 3.0, 0.05, (1.0, 5.0))
    assert one["labels"] == 10 and one["pass_rate"]["ppi"]["estimate"] == pytest.approx(0.0, abs=1e-12)  # type: ignore[index]
    assert one["mean_score"]["ppi"]["n_unlabeled"] == 9  # type: ignore[index]
    rows = np.arange(20, dtype=np.int64)
    delta = delta_figures((rows, rows), (base, candidate), truths, 3.0, 0.05, (1.0, 5.0))
    assert delta["labels"] == 10
    assert delta["pass_rate"]["ppi"]["estimate"] == pytest.approx(1.0)  # type: ignore[index]
    assert delta["mean_score"]["judge_only"]["estimate"] == pytest.approx(2.0)  # type: ignore[index]
    assert delta["mean_score"]["ppi"]["n_labeled"] == 10  # type: ignore[index]
    assert delta["mean_score"]["ppi"]["n_unlabeled"] == 9  # type: ignore[index]


def test_labels_that_all_agree_do_not_give_a_zero_width_interval() -> None:
    """Ten labels, all "the candidate wins": a smoothed interval inside [0, 1], not [1, 1]."""
    wins = dense({row: 1.0 if row % 2 else 0.5 for row in range(30)}, 30)
    truths = dense({row: 1.0 for row in range(10)}, 30)
    found = figure(wins, truths, 0.05, (0.0, 1.0))
    assert found is not None
    ppi = found["ppi"]
    assert ppi["ci_high"] == pytest.approx(1.0) and 0.6 < ppi["ci_low"] < 0.95  # type: ignore[index, operator]
    assert ppi["estimate"] == pytest.approx(1.0)  # type: ignore[index]
