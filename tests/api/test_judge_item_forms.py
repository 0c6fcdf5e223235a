"""The three forms of a judge item — PAI's content part, a text part holding the item as JSON, and a
top-level ``judge`` field — judged alike, through the official ``openai`` SDK and LiteLLM's SDK (which
refuses PAI's content part before sending, the reason for the other two forms)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from openai import OpenAI

from jurist.backends.fake import FakeBackend
from tests.support.live import LiveServer
from tests.support.services import API_KEY
from tests.support.verdicts import pairwise_verdict_json, single_verdict_json

PAIR = {"question": "Capital of France?", "answer1": "Paris.", "answer2": "Lyon.", "criteria": ["Accuracy"]}


def pai_part(mode: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Form 1: PAI's own content part."""
    return {"messages": [{"role": "user", "content": [{"mode": mode, "type": "json", "json": fields}]}]}


def text_part(mode: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Form 2: a standard text part whose text is the item as a JSON object."""
    text = json.dumps({"mode": mode, **fields})
    return {"messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]}


def judge_field(mode: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Form 3: the top-level ``judge`` field (sent with ``extra_body``)."""
    return {
        "messages": [{"role": "user", "content": "Judge the item in the 'judge' field."}],
        "extra_body": {"judge": {"mode": mode, **fields}},
    }


FORMS = {"pai_part": pai_part, "text_part": text_part, "judge_field": judge_field}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_form_is_judged_alike_through_the_openai_sdk(
    form: str, server: LiveServer, fake: FakeBackend
) -> None:
    client = server.sdk()
    fake.enqueue(pairwise_verdict_json(5, 2, "response_1"))
    completion = client.chat.completions.create(model="pai-judge", **FORMS[form]("pairwise", PAIR))
    judgment = completion.model_extra["judgment"]  # type: ignore[index]
    assert judgment["mode"] == "pairwise" and judgment["winner"] == "response_1"
    assert [c["name"] for c in judgment["criteria"]] == ["Accuracy"]
    assert "warnings" not in judgment
    sent = fake.history[-1].messages
    assert "Paris." in sent[-1]["content"] and "Lyon." in sent[-1]["content"]


def test_a_misspelt_field_is_named_in_the_warnings(server: LiveServer, fake: FakeBackend) -> None:
    client = server.sdk()
    fake.enqueue(single_verdict_json(4))
    item = {
        "question": "2+2?",
        "answer": "4",
        "refrence": "4",
        "criteria": [{"name": "Accuracy", "desc": "x"}],
    }
    completion = client.chat.completions.create(model="pai-judge", **pai_part("single", item))
    assert completion.model_extra["judgment"]["warnings"] == [  # type: ignore[index]
        "Unknown field 'messages[0].content[0].json.refrence' was ignored.",
        "Unknown field 'messages[0].content[0].json.criteria[0].desc' was ignored.",
    ]
    assert "refrence" not in fake.history[-1].messages[-1]["content"]


@pytest.fixture
def litellm() -> Iterator[Any]:
    """LiteLLM's SDK, offline: its model price map from the package, no callbacks."""
    mp = pytest.MonkeyPatch()
    mp.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm as sdk

    yield sdk
    # LiteLLM caches the SDK client it built for each api_base: close it, or its connection to this
    # test's server stays open until the interpreter exits
    cache = sdk.in_memory_llm_clients_cache
    for key, cached in list(cache.cache_dict.items()):
        if isinstance(cached, OpenAI):
            cache.delete_cache(key)
            cached.close()
    mp.undo()


@pytest.mark.parametrize("form", ["text_part", "judge_field"])
def test_a_strict_client_sends_the_other_forms_through_litellm(
    form: str, litellm: Any, server: LiveServer, fake: FakeBackend
) -> None:
    fake.enqueue(pairwise_verdict_json(2, 5, "response_2"))
    response = litellm.completion(
        model="openai/pai-judge", api_base=server.base_url, api_key=API_KEY, **FORMS[form]("pairwise", PAIR)
    )
    assert "[[Response 2 is better]]" in response.choices[0].message.content
    assert response.judgment["winner"] == "response_2"  # LiteLLM keeps the extension field
    assert fake.history[-1].messages[-1]["content"].count("Lyon.") == 1


def test_litellm_refuses_pais_content_part_before_sending(
    litellm: Any, server: LiveServer, fake: FakeBackend
) -> None:
    with pytest.raises(Exception, match="Invalid user message"):
        litellm.completion(
            model="openai/pai-judge", api_base=server.base_url, api_key=API_KEY, **pai_part("pairwise", PAIR)
        )
    assert fake.history == []
