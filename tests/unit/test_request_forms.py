"""``parse_chat_request``: one validation for chat bodies and batch lines, judge items in three forms."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jurist.errors import InvalidRequest
from jurist.protocol.items import PairwiseItem, SingleItem
from jurist.service.judging.requests import parse_chat_request

ITEM = {"question": "2+2?", "answer": "4"}


def user(content: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": content}]}


def error_of(body: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse_chat_request(body)
    return caught.value


@pytest.mark.parametrize(
    "body",
    [
        user([{"mode": "single", "type": "json", "json": ITEM}]),
        user([{"type": "text", "text": json.dumps({"mode": "single", **ITEM})}]),
        user(json.dumps({"mode": "single", **ITEM})),
        user([{"type": "text", "text": json.dumps({"mode": "single", "type": "json", "json": ITEM})}]),
        {**user("Judge it."), "judge": {"mode": "single", **ITEM}},
    ],
    ids=["pai_part", "text_part", "string_content", "pai_part_as_text", "judge_field"],
)
def test_each_form_gives_the_same_item(body: dict[str, Any]) -> None:
    item = parse_chat_request(body).judge
    assert isinstance(item, SingleItem)
    assert (item.question, item.answer, item.warnings) == ("2+2?", "4", [])


def test_plain_text_and_json_without_a_mode_are_custom_templates() -> None:
    assert parse_chat_request(user("Rate this: {not json")).judge is None
    assert parse_chat_request(user([{"type": "text", "text": '{"question": "x"}'}])).judge is None
    assert parse_chat_request(user('{"mode": "debate"}')).judge is None


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (
            user([{"mode": "single", "type": "json", "json": {"answer": "4"}}]),
            "messages[0].content[0].json.question",
        ),
        (
            user([{"type": "text", "text": '{"mode": "pairwise", "question": "q", "answer1": "a"}'}]),
            "messages[0].content[0].text.answer2",
        ),
        ({**user("x"), "judge": {"mode": "single", "question": "q"}}, "judge.answer"),
        ({**user("x"), "judge": {"question": "q", "answer": "a"}}, "judge"),
        (user([{"mode": "triple", "type": "json", "json": ITEM}]), "messages[0].content[0].mode"),
        (user([{"mode": "single", "type": "json"}]), "messages[0].content[0].json"),
    ],
)
def test_errors_name_the_field_in_the_form_it_came(body: dict[str, Any], param: str) -> None:
    assert error_of(body).param == param


def test_one_item_per_request_whatever_the_forms() -> None:
    body = {
        **user([{"type": "text", "text": json.dumps({"mode": "single", **ITEM})}]),
        "judge": {"mode": "single", **ITEM},
    }
    assert error_of(body).param == "messages[0].content[0]"
    part = {"mode": "single", "type": "json", "json": ITEM}
    assert error_of(user([part, part])).param == "messages[0].content[1]"


async def test_a_batch_line_fails_with_the_same_error_as_the_api() -> None:
    """Batch lines run through the same parser: the error line carries the API's message and param."""
    from jurist.backends.fake import FakeBackend
    from jurist.runner.execute import execute_line
    from jurist.service.judging.models import JudgeModel
    from jurist.service.judging.pipeline import ChatService
    from jurist.settings import LlamaCppModelConfig
    from jurist.store.records import ClaimedRequest

    bad = {
        **user([{"mode": "pairwise", "type": "json", "json": {"question": "q", "answer1": "a"}}]),
        "model": "m",
    }
    chat = ChatService({"m": JudgeModel("m", LlamaCppModelConfig(), FakeBackend())})
    result = await execute_line(chat, ClaimedRequest("b", 1, "c1", "m", json.dumps(bad), 1), 5, 1.0)
    error = json.loads(result.response)["response"]["body"]["error"]  # type: ignore[union-attr]
    expected = error_of(bad)
    assert (error["message"], error["param"]) == (expected.message, expected.param)
    assert expected.param == "messages[0].content[0].json.answer2"
    assert error_of({"model": "m", "messages": []}).param == "messages"
    assert error_of([1, 2]).message == "The request body must be a JSON object."


def test_unknown_item_fields_become_warnings_with_their_path() -> None:
    item = {
        **ITEM,
        "answer1": "x",
        "refrence": "4",
        "question": [{"role": "user", "content": "q", "nmae": 1}],
    }
    got = parse_chat_request({**user("x"), "judge": {"mode": "single", **item}}).judge
    assert got is not None and got.warnings == [
        "Unknown field 'judge.answer1' was ignored.",
        "Unknown field 'judge.refrence' was ignored.",
        "Unknown field 'judge.question[0].nmae' was ignored.",
    ]


def test_jurists_extensions_are_typed_and_the_rest_passes_through() -> None:
    body = {**user("hi"), "cache": False, "metadata": {"model_a": "x"}, "logit_bias": {"1": 2}, "user": "u"}
    request = parse_chat_request(body)
    assert request.cache is False and request.metadata == {"model_a": "x"}
    assert request.passthrough == {"logit_bias": {"1": 2}, "user": "u"}
    assert isinstance(
        parse_chat_request(
            {**user("x"), "judge": {"mode": "pairwise", "question": "q", "answer1": "a", "answer2": "b"}}
        ).judge,
        PairwiseItem,
    )
    assert error_of({**user("x"), "cache": "maybe"}).param == "cache"
