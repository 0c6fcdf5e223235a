"""``reasons`` through the official SDK with the scripted judge: what the judge model is sent, and the
verdict text and judgment that come back, per item and as a model's default."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai import OpenAI

from jurist.backends.fake import FakeBackend
from tests.support.live import LiveServer
from tests.support.verdicts import (
    SEED_PAIR_SCORES,
    SEED_PAIR_WINNER,
    pairwise_scores_json,
    pairwise_verdict_json,
)

UPSTREAM = {"backend": "openai", "base_url": "http://127.0.0.1:9/v1"}
MODELS = {"pai-judge": UPSTREAM, "pai-judge-plus": {**UPSTREAM, "reasons": "none"}}
QUESTION = "According to the first couplet, give the second couplet. first couplet: To climb the mountain"


@pytest.fixture
def judge_models() -> dict[str, Any]:
    return MODELS


@pytest.fixture
def client(server: LiveServer) -> OpenAI:
    return server.sdk()


def pair(**extra: Any) -> list[Any]:
    fields = {
        "question": QUESTION,
        "answer1": "To cross the river, find the creek.",
        "answer2": "Hi.",
        **extra,
    }
    return [{"role": "user", "content": [{"mode": "pairwise", "type": "json", "json": fields}]}]


def _reason_fields(schema: Any) -> list[str]:
    text = json.dumps(schema)
    return [word for word in ('"reason"', '"summary"') if word in text]


def test_none_sends_a_schema_without_reasons_and_returns_a_seed_parseable_verdict(
    client: OpenAI, fake: FakeBackend
) -> None:
    fake.enqueue(pairwise_scores_json(5, 2, "response_1"))
    completion = client.chat.completions.create(model="pai-judge", messages=pair(reasons="none"))
    sent = fake.history[-1]
    assert sent.json_schema is not None and _reason_fields(sent.json_schema) == []
    assert "no reason" in sent.messages[0]["content"] and "summary" not in sent.messages[0]["content"]
    content = completion.choices[0].message.content or ""
    winner, scores = SEED_PAIR_WINNER.search(content), SEED_PAIR_SCORES.search(content)
    assert winner and winner.group(1) == "Response 1 is better"
    assert scores and scores.groups() == ("5", "2")
    assert "1. Accuracy: [[Response 1 score: 5]] [[Response 2 score: 2]]" in content
    judgment: dict[str, Any] = completion.judgment  # type: ignore[attr-defined]
    assert judgment["winner"] == "response_1" and judgment["parsed_by"] == "json"
    assert judgment["summary"] is None and {c["reason"] for c in judgment["criteria"]} == {""}


def test_full_stays_the_default_and_the_model_default_applies(client: OpenAI, fake: FakeBackend) -> None:
    fake.enqueue(pairwise_verdict_json(4, 4, "tie"))
    full = client.chat.completions.create(model="pai-judge", messages=pair())
    assert _reason_fields(fake.history[-1].json_schema) == ['"reason"', '"summary"']
    assert "Accuracy: Accuracy reason. [[Response 1 score: 4]]" in (full.choices[0].message.content or "")
    fake.enqueue(pairwise_scores_json(2, 4, "response_2"))
    by_model = client.chat.completions.create(model="pai-judge-plus", messages=pair())  # reasons = "none"
    assert _reason_fields(fake.history[-1].json_schema) == []
    assert by_model.judgment["summary"] is None  # type: ignore[attr-defined]
    fake.enqueue(pairwise_verdict_json(4, 4, "tie"))
    client.chat.completions.create(model="pai-judge-plus", messages=pair(reasons="short"))  # the item wins
    assert "one short sentence" in fake.history[-1].messages[0]["content"]


def test_a_bad_reasons_value_is_a_clear_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="pai-judge", messages=pair(reasons="brief"))
    body: Any = caught.value.body
    assert body["param"] == "messages[0].content[0].json.reasons"
    assert "'full', 'short' or 'none'" in body["message"]
