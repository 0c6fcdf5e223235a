"""A model grader's answer is read as a judge's verdict is: JSON, then JSON inside text, then the text."""

from __future__ import annotations

import pytest

from jurist.evaluation.graders.answers import label_answer, score_answer


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
