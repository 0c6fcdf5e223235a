"""A model grader's answer is read as a judge's verdict is: JSON, then JSON inside text, then the text."""

from __future__ import annotations

import math

import pytest

from jurist.evaluation.graders.answers import answer_confidence, label_answer, score_answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"steps": [], "result": 0.7}', (0.7, "json")),
        ('Here you go:\n```json\n{"steps": [{"description": "a", "conclusion": "b"}], "result": 3}\n```', (3.0, "embedded_json")),
        ('{"note": 1} then {"result": "0.25"}', (0.25, "embedded_json")),
        ("I think the result: 4.5 overall.", (4.5, "text")),
        ("Score 2", (2.0, "text")),
        ("between 1 and 5, no idea", None),
        ('{"result": NaN}', None),
        ('{"result": true}', None),
        ("", None),
    ],
)  # fmt: skip
def test_a_score_answer_is_read_down_the_ladder(text: str, expected: tuple[float, str] | None) -> None:
    assert score_answer(text) == expected


def test_a_label_answer_is_one_of_its_labels() -> None:
    labels = ["correct", "incorrect", "partially correct"]
    assert label_answer('{"label": "incorrect"}', labels) == ("incorrect", "json")
    assert label_answer('Sure: {"label": "correct"}', labels) == ("correct", "embedded_json")
    assert label_answer('{"label": "wrong"}', labels) is None  # not a label, and the text names none
    assert label_answer("The answer is incorrect.", labels) == ("incorrect", "text")
    assert label_answer("correct or incorrect?", labels) is None  # two named: no guess


def test_a_model_graders_confidence_is_its_rung_times_its_values_token_probability() -> None:
    text = '{"steps": [], "result": 0.8}'
    tokens = ['{"steps": [], "result": ', "0", ".8", "}"]
    logprobs = {"content": [{"token": t, "logprob": -0.1 if t == "0" else -2.0} for t in tokens]}
    assert answer_confidence(text, "result", "0.8", "json", logprobs) == pytest.approx(
        math.exp(-0.1), abs=1e-4
    )
    assert answer_confidence(text, "result", "0.8", "embedded_json", None) == 0.45  # no token probabilities
    label = 'Sure. {"label": "correct"}'
    pieces = ['Sure. {"label": "', "cor", "rect", '"}']
    said = {"content": [{"token": t, "logprob": -0.5} for t in pieces]}
    assert answer_confidence(label, "label", "correct", "embedded_json", said) == pytest.approx(
        0.9 * math.exp(-0.5), abs=1e-4
    )
    assert answer_confidence("it is correct", "label", "correct", "text", {"content": "bad"}) == 0.4
