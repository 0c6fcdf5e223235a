"""Style control: a model that wins only by verbosity loses its lead once length is held fixed; a real
quality difference survives it; degenerate inputs stay finite."""

from __future__ import annotations

import numpy as np
import pytest

from jurist.evaluation.bradley_terry import leaderboard
from jurist.evaluation.report import build_report
from jurist.evaluation.style_control import AnswerStyle, StyledBattle, answer_style, style_leaderboard
from tests.support.report_lines import pair_input, pair_output


def battles(n: int, seed: int, length_effect: float, quality: float) -> list[StyledBattle]:
    """A writes longer answers than B (overlapping ranges); P(a wins) from length and A's quality."""
    rng = np.random.default_rng(seed)
    out: list[StyledBattle] = []
    for k in range(n):
        a, b = ("A", "B") if k % 2 else ("B", "A")
        la, lb = (int(rng.integers(400, 1600)) if m == "A" else int(rng.integers(100, 900)) for m in (a, b))
        edge = quality if a == "A" else -quality
        p = 1 / (1 + np.exp(-(length_effect * (la - lb) / (la + lb) + edge)))
        out.append((a, b, 1 if rng.random() < p else 2, AnswerStyle(la, 0, 0, 0), AnswerStyle(lb, 0, 0, 0)))
    return out


def test_a_model_winning_only_by_verbosity_ties_once_length_is_held_fixed() -> None:
    data = battles(600, 1, length_effect=4.0, quality=0.0)
    plain = leaderboard([x[:3] for x in data], rounds=200)
    assert plain[0].model == "A" and plain[0].ci_low > plain[1].ci_high  # A clearly first
    fit = style_leaderboard(data, rounds=200)
    one, two = fit.ratings
    assert one.ci_low <= two.ci_high and two.ci_low <= one.ci_high  # tied within CIs
    length = fit.coefficients[0]
    assert length.feature == "length" and length.coefficient is not None and length.ci_low is not None
    assert length.ci_low > 0  # a positive length effect
    assert [c.coefficient for c in fit.coefficients[1:]] == [None, None, None]  # no markdown: left out


def test_a_real_quality_difference_survives_style_control() -> None:
    data = battles(600, 2, length_effect=0.0, quality=1.0)
    plain = leaderboard([x[:3] for x in data], rounds=200)
    fit = style_leaderboard(data, rounds=200)
    assert plain[0].model == fit.ratings[0].model == "A"
    assert fit.ratings[0].ci_low > fit.ratings[1].ci_high
    length = fit.coefficients[0]
    assert length.ci_low is not None and length.ci_high is not None
    assert length.ci_low < 0 < length.ci_high  # no length effect


def test_degenerate_inputs_stay_finite() -> None:
    same = AnswerStyle(10, 0, 0, 0)
    ties = [("A", "B", 0, same, same), ("B", "A", 0, same, same)] * 5
    fit = style_leaderboard(ties, rounds=20)
    assert [r.rating for r in fit.ratings] == pytest.approx([1000.0, 1000.0], abs=1e-6)
    assert all(c.coefficient is None for c in fit.coefficients)
    unbeaten = [("A", "B", 1, AnswerStyle(5, 0, 0, 0), AnswerStyle(9, 1, 0, 0))] * 10
    fit = style_leaderboard(unbeaten, rounds=20)
    assert all(np.isfinite(r.rating) for r in fit.ratings) and fit.ratings[0].model == "A"


def test_markdown_features() -> None:
    text = "# Title\n\nSome **bold** and __b__\n- one\n* two\n1. three\n  2) four\n**x\n"
    assert answer_style(text) == AnswerStyle(len(text.encode()), 1, 2, 4)


def test_report_shows_the_style_board_only_with_answer_texts() -> None:
    inputs = [
        pair_input(f"q{i}", "## A\n- x\n" * (1 + i % 4), "y" * (i % 7 + 1), "m1", "m2") for i in range(40)
    ]
    outputs = [pair_output(f"q{i}", ("response_1", "response_2", "tie")[i % 3]) for i in range(40)]
    report = build_report(outputs, inputs, rounds=30)
    assert report.pairwise is not None and report.pairwise.style_controlled is not None
    assert report.pairwise.style_controlled.battles == 40
    assert {r.model for r in report.pairwise.style_controlled.leaderboard} == {"m1", "m2"}
    one_model = [pair_input(f"q{i}", "a", "b", "m1", "m1") for i in range(40)]
    no_board = build_report(outputs, one_model, rounds=30)
    assert no_board.pairwise is not None and no_board.pairwise.style_controlled is None
    without_texts = [
        {"custom_id": f"q{i}", "metadata": {"model_a": "m1", "model_b": "m2"}} for i in range(40)
    ]
    report = build_report(outputs, without_texts, rounds=30)
    assert report.pairwise is not None and report.pairwise.leaderboard is not None
    assert report.pairwise.style_controlled is None
    assert any(n.startswith("No style-controlled leaderboard") for n in report.notes)
