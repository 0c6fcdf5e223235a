"""``client.fine_tuning.alpha.graders.run`` / ``.validate`` against Jurist, answers checked against OpenAI's
published schemas: rewards, the 14 error flags, multi graders in every upstream shape."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai import BadRequestError, OpenAI

from jurist.backends.fake import FakeBackend
from tests.support.evals_schema import validate

CHECK = {"type": "string_check", "name": "name", "input": "{{sample.output_json.name}}", "reference": "{{item.name}}",
         "operation": "ilike"}  # fmt: skip
SIMILAR = {"type": "text_similarity", "name": "email", "input": "{{sample.output_json.email}}",
           "reference": "{{item.email}}", "evaluation_metric": "fuzzy_match", "pass_threshold": 0.5}  # fmt: skip
SAMPLE = orjson.dumps({"name": "ADA Lovelace", "email": "ada@example.org"}).decode()
ITEM = {"name": "Ada Lovelace", "email": "ada@example.com"}


def run(
    client: OpenAI, grader: dict[str, Any], sample: str = SAMPLE, item: dict[str, Any] | None = None
) -> dict[str, Any]:
    answer = client.fine_tuning.alpha.graders.run(
        grader=grader, model_sample=sample, item=ITEM if item is None else item
    )  # type: ignore[arg-type]
    data: dict[str, Any] = orjson.loads(answer.to_json())
    validate("RunGraderResponse", data)
    return data


def test_a_string_check_and_a_similarity_reward(client: OpenAI) -> None:
    assert run(client, CHECK)["reward"] == 1.0  # ilike: case aside
    similar = run(client, SIMILAR)
    assert 0.8 < similar["reward"] < 1.0 and not any(v for v in similar["metadata"]["errors"].values())
    assert similar["metadata"]["name"] == "email" and similar["metadata"]["type"] == "text_similarity"


@pytest.mark.parametrize(
    "graders",
    [
        {"name": CHECK, "email": SIMILAR},  # the guide's keyed object
        [CHECK, SIMILAR],  # the spec example's list, each named by its name
    ],
)
def test_a_multi_grader_combines_its_graders_by_formula(client: OpenAI, graders: Any) -> None:
    multi = {"type": "multi", "name": "both", "graders": graders, "calculate_output": "(name + email) / 2"}
    found = run(client, multi)
    email = run(client, SIMILAR)["reward"]
    assert found["reward"] == pytest.approx((1.0 + email) / 2)
    assert found["sub_rewards"] == {"name": 1.0, "email": pytest.approx(email)}
    power = run(client, {**multi, "calculate_output": "max(name, email) ^ 2 + floor(sqrt(16)) - abs(-1)"})
    assert power["reward"] == pytest.approx(1.0 + 4 - 1)


def test_a_missing_field_sets_the_invalid_variable_flag(client: OpenAI) -> None:
    found = run(client, CHECK, item={"email": "x"})
    assert found["reward"] == 0.0 and found["metadata"]["errors"]["invalid_variable_error"] is True
    assert sum(v is True for v in found["metadata"]["errors"].values()) == 1


def test_a_score_model_grader_is_clamped_to_its_range(client: OpenAI, fake: FakeBackend) -> None:
    grader = {"type": "score_model", "name": "s", "model": "pai-judge", "range": [1, 5],
              "input": [{"role": "user", "content": "Rate: {{sample.output_text}}"}]}  # fmt: skip
    fake.enqueue('{"steps": [], "result": 9}', "no number at all")
    high = run(client, grader)
    assert high["reward"] == 5.0 and high["metadata"]["sampled_model_name"] == "pai-judge"
    assert high["model_grader_token_usage_per_model"]["pai-judge"]["total_tokens"] > 0
    unparsed = run(client, {**grader, "sampling_params": {"temperature": 0.5}})
    assert unparsed["reward"] == 1.0 and unparsed["metadata"]["errors"]["model_grader_parse_error"] is True


@pytest.mark.parametrize(
    ("grader", "param", "code"),
    [
        ({"type": "label_model", "name": "l", "model": "pai-judge", "input": [{"role": "user", "content": "x"}],
          "labels": ["a"], "passing_labels": ["a"]}, "grader.type", "invalid_grader_type"),
        ({"type": "multi", "name": "m", "graders": {"inner": {"type": "multi", "name": "i", "graders": {"a": CHECK},
          "calculate_output": "a"}}, "calculate_output": "inner"}, "grader.graders.inner.type", None),
        ({"type": "multi", "name": "m", "graders": {"name": CHECK}, "calculate_output": "(name + 1))"},
         "grader.calculate_output", "formula_parse_error"),
        ({"type": "multi", "name": "m", "graders": {"name": CHECK}, "calculate_output": "__import__('os')"},
         "grader.calculate_output", "formula_parse_error"),
        ({"type": "python", "name": "p", "source": "def grade(sample, item):\\n    return 1.0"}, "grader.type",
         "python_grader_disabled"),
        ({**CHECK, "operation": "regex"}, "grader.operation", None),
    ],
)  # fmt: skip
def test_validate_refuses_bad_graders_without_running_them(
    client: OpenAI, grader: dict[str, Any], param: str, code: str | None
) -> None:
    graders = client.fine_tuning.alpha.graders
    for call in (
        lambda: graders.validate(grader=grader),
        lambda: graders.run(grader=grader, model_sample="x"),
    ):  # type: ignore[arg-type]
        with pytest.raises(BadRequestError) as refused:
            call()
        assert refused.value.param == param, refused.value.message  # type: ignore[attr-defined]
        if code is not None:
            assert refused.value.code == code  # type: ignore[attr-defined]


def test_validate_echoes_a_good_grader(client: OpenAI) -> None:
    answer = client.fine_tuning.alpha.graders.validate(grader=CHECK)  # type: ignore[arg-type]
    assert orjson.loads(answer.to_json())["grader"] == CHECK
