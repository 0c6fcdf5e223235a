"""Probability-weighted scores from token log-probabilities (OpenAI's logprobs shape)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from jurist.judging.expected import distribution, expected_scores
from jurist.judging.verdict import ScoreScale

SCALE = ScoreScale(1, 5)


def tok(text: str, p: float = 1.0, alts: dict[str, float] | None = None) -> dict[str, Any]:
    return {
        "token": text,
        "logprob": math.log(p),
        "bytes": list(text.encode()),
        "top_logprobs": [{"token": t, "logprob": math.log(q)} for t, q in (alts or {}).items()],
    }


def tokens_for(text: str, at: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Split ``text`` into one-character tokens except the marked digit positions (by key)."""
    content: list[dict[str, Any]] = []
    position = 0
    marks = {}
    for key, alts in at.items():
        index = text.rindex(f'"{key}": ') + len(f'"{key}": ')
        marks[index] = alts
    while position < len(text):
        if position in marks:
            content.append(tok(text[position], max(marks[position].values()), marks[position]))
        else:
            content.append(tok(text[position]))
        position += 1
    return {"content": content}


def test_single_expected_score_is_the_renormalised_mean() -> None:
    text = json.dumps(
        {"criteria": {"A": {"reason": "é ok", "score": 2}}, "summary": "s", "overall_score": 4},
        ensure_ascii=False,
    )
    logprobs = tokens_for(text, {"overall_score": {"4": 0.6, "5": 0.2, "3": 0.1, "x": 0.1}})
    result = expected_scores(text, logprobs, "single", SCALE)
    assert result is not None
    assert result["overall_score"] == pytest.approx((4 * 0.6 + 5 * 0.2 + 3 * 0.1) / 0.9)


def test_pairwise_reads_the_top_level_keys_not_the_criteria() -> None:
    text = json.dumps(
        {
            "criteria": {"A": {"reason": "r", "response_1_score": 1, "response_2_score": 1}},
            "summary": "s",
            "response_1_score": 5,
            "response_2_score": 2,
            "winner": "response_1",
        }
    )
    logprobs = tokens_for(
        text,
        {"response_1_score": {"5": 0.5, "4": 0.5}, "response_2_score": {"2": 0.9, " 3": 0.05, "9": 0.05}},
    )
    result = expected_scores(text, logprobs, "pairwise", SCALE)
    assert result == {
        "response_1_score": pytest.approx(4.5),
        "response_2_score": pytest.approx((2 * 0.9 + 3 * 0.05) / 0.95),
    }


def test_unknown_when_it_cannot_be_known() -> None:
    text = '{"criteria": {}, "summary": "s", "overall_score": 4}'
    good = tokens_for(text, {"overall_score": {"4": 1.0}})
    assert expected_scores(text, good, "single", SCALE) == {"overall_score": 4.0}
    assert expected_scores(text, None, "single", SCALE) is None
    assert expected_scores(text, {"content": []}, "single", SCALE) is None
    assert expected_scores(text + " ", good, "single", SCALE) is None  # tokens do not spell the text
    assert expected_scores(text, good, "single", ScoreScale(1, 10)) is None  # two-digit scores
    no_scores = tokens_for(text, {"overall_score": {"four": 1.0}})
    no_scores["content"][text.rindex("4")]["token"] = "4"
    no_scores["content"][text.rindex("4")]["top_logprobs"] = [{"token": "four", "logprob": 0.0}]
    no_scores["content"][text.rindex("4")]["logprob"] = -math.inf
    assert expected_scores(text, no_scores, "single", SCALE) is None


def test_distribution_merges_spellings_and_ignores_off_scale_values() -> None:
    token = tok("3", 0.4, {"3": 0.4, " 3": 0.1, "6": 0.3, "2,": 0.2})
    probs = distribution(token, SCALE)
    assert probs == {2: pytest.approx(0.2 / 0.7), 3: pytest.approx(0.5 / 0.7)}
