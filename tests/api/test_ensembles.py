"""pai-judge-plus style ensembles through the official SDK: samples × both orders, aggregated, with
probability-weighted expected scores where the backend returns log-probabilities."""

from __future__ import annotations

import json
import math
from typing import Any

import openai
import pytest
from openai import OpenAI

from jurist.backends.base import Generation
from jurist.backends.fake import FakeBackend
from tests.support.live import LiveServer
from tests.support.verdicts import pairwise_verdict_json, single_verdict_json

UPSTREAM = {"backend": "openai", "base_url": "http://127.0.0.1:9/v1"}
MODELS = {
    "pai-judge": {**UPSTREAM, "description": "An upstream judge", "logprobs": True, "top_logprobs": 5},
    "pai-judge-plus": {**UPSTREAM, "swap": True, "samples": 3, "sample_temperature": 0.9},
}


@pytest.fixture
def judge_models() -> dict[str, Any]:
    return MODELS


@pytest.fixture
def client(server: LiveServer) -> OpenAI:
    return server.sdk()


def item(mode: str, **extra: Any) -> list[Any]:
    fields: dict[str, Any] = {"question": "Capital of France?", "criteria": ["Accuracy"]}
    if mode == "single":
        fields["answer"] = "Paris."
    else:
        fields.update(answer1="Paris.", answer2="Lyon, I think.")
    return [{"role": "user", "content": [{"mode": mode, "type": "json", "json": {**fields, **extra}}]}]


def verdict(s1: int, s2: int, winner: str) -> str:
    return json.dumps(
        {
            "criteria": {"Accuracy": {"reason": "r", "response_1_score": s1, "response_2_score": s2}},
            "summary": f"{winner} is better.",
            "response_1_score": s1,
            "response_2_score": s2,
            "winner": winner,
        }
    )


def with_logprobs(text: str, key_alts: dict[str, dict[str, float]]) -> Generation:
    """``text`` as one-character tokens; the value token after each key gets the given alternatives."""
    marks = {text.rindex(f'"{k}": ') + len(f'"{k}": '): alts for k, alts in key_alts.items()}
    content = []
    for i, ch in enumerate(text):
        alts = marks.get(i, {ch: 1.0})
        content.append(
            {
                "token": ch,
                "logprob": math.log(alts.get(ch, 1e-9)),
                "top_logprobs": [{"token": t, "logprob": math.log(p)} for t, p in alts.items()],
            }
        )
    return Generation(text, "stop", 10, len(text), {"content": content})


def test_plus_draws_samples_in_both_orders_and_takes_the_majority(client: OpenAI, fake: FakeBackend) -> None:
    # games run as (sample 0: given, swapped), (sample 1: ...), (sample 2: ...)
    fake.enqueue(
        verdict(5, 2, "response_1"), verdict(2, 5, "response_2"),  # sample 0: both prefer answer 1
        verdict(4, 3, "response_1"), verdict(4, 3, "response_1"),  # sample 1: swapped game prefers answer 2
        verdict(4, 2, "response_1"), verdict(1, 5, "response_2"),  # sample 2: both prefer answer 1
    )  # fmt: skip
    completion = client.chat.completions.create(model="pai-judge-plus", messages=item("pairwise"))
    judgment: dict[str, Any] = completion.judgment  # type: ignore[attr-defined]
    assert judgment["winner"] == "response_1" and judgment["swap"]["consistent"] is True
    ensemble = judgment["ensemble"]
    assert ensemble["samples"] == 3 and ensemble["total_games"] == 6 and ensemble["scored_games"] == 6
    assert ensemble["votes"] == {"response_1": 5, "response_2": 1, "tie": 0}
    assert ensemble["agreement"] == pytest.approx(5 / 6)
    # in the caller's order: answer 1 scored 5,5,4,3,4,5 → 26/6; answer 2 scored 2,2,3,4,2,1 → 14/6
    assert ensemble["mean_scores"] == {
        "response_1": pytest.approx(26 / 6),
        "response_2": pytest.approx(14 / 6),
    }
    assert judgment["scores"] == {"response_1": 4, "response_2": 2}
    games = judgment["swap"]["games"]
    assert [(g["order"], g["sample"]) for g in games] == [
        ("as_given", 0), ("swapped", 0), ("as_given", 1), ("swapped", 1), ("as_given", 2), ("swapped", 2),
    ]  # fmt: skip
    assert games[3]["winner"] == "response_2"  # mapped back to the caller's order
    requests = fake.history[-6:]
    assert [r.temperature for r in requests] == [0.0, 0.0, 0.9, 0.9, 0.9, 0.9]
    assert [r.seed for r in requests] == [None, None, 1, 1, 2, 2]
    assert not any(r.logprobs for r in requests)  # an upstream is not asked for logprobs unless configured
    assert completion.usage is not None and completion.usage.prompt_tokens == 60  # six calls
    assert (completion.choices[0].message.content or "").startswith("***\nI think [[Response 1 is better]].")


def test_item_can_ask_for_samples_in_single_mode(client: OpenAI, fake: FakeBackend) -> None:
    fake.enqueue(single_verdict_json(4), single_verdict_json(5), single_verdict_json(4))
    judgment: dict[str, Any] = client.chat.completions.create(
        model="pai-judge", messages=item("single", samples=3), extra_body={"cache": False}
    ).judgment  # type: ignore[attr-defined]
    assert judgment["overall_score"] == 4
    assert judgment["ensemble"]["votes"] == {"4": 2, "5": 1}
    assert judgment["ensemble"]["mean_score"] == pytest.approx(13 / 3)
    assert [g["sample"] for g in judgment["ensemble"]["games"]] == [0, 1, 2]
    assert "swap" not in judgment


def test_expected_score_from_logprobs_next_to_the_integer_score(client: OpenAI, fake: FakeBackend) -> None:
    text = single_verdict_json(4)
    fake.enqueue(with_logprobs(text, {"overall_score": {"4": 0.5, "5": 0.3, "3": 0.2}}))
    judgment: dict[str, Any] = client.chat.completions.create(
        model="pai-judge", messages=item("single")
    ).judgment  # type: ignore[attr-defined]
    assert fake.history[-1].logprobs is True and fake.history[-1].top_logprobs == 5
    assert judgment["overall_score"] == 4
    assert judgment["expected_score"] == pytest.approx(4.1)
    # pairwise with swap: game 2's expected scores are mapped back and averaged per answer
    first = pairwise_verdict_json(5, 2, "response_1")
    second = pairwise_verdict_json(2, 4, "response_2")
    fake.enqueue(
        with_logprobs(first, {"response_1_score": {"5": 0.5, "4": 0.5}, "response_2_score": {"2": 1.0}}),
        with_logprobs(second, {"response_1_score": {"2": 1.0}, "response_2_score": {"4": 1.0}}),
    )
    judgment = client.chat.completions.create(
        model="pai-judge", messages=item("pairwise", swap=True)
    ).judgment  # type: ignore[attr-defined]
    assert judgment["expected_score"] == {"response_1": pytest.approx(4.25), "response_2": pytest.approx(2.0)}
    assert judgment["swap"]["games"][1]["expected_score"] == {"response_1": 4.0, "response_2": 2.0}
    # no logprobs from the backend: no expected_score, the verdict is unchanged
    fake.enqueue(single_verdict_json(3))
    judgment = client.chat.completions.create(model="pai-judge", messages=item("single", scene="x")).judgment  # type: ignore[attr-defined]
    assert judgment["overall_score"] == 3 and "expected_score" not in judgment


def test_bad_samples_are_a_clear_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="pai-judge", messages=item("single", samples=0))
    body: Any = caught.value.body
    assert body["param"] == "messages[0].content[0].json.samples"
    assert "greater than or equal to 1" in body["message"]


def test_models_say_how_they_judge_and_what_an_item_costs(client: OpenAI) -> None:
    plus: Any = client.models.retrieve("pai-judge-plus")
    assert plus.judging == {
        "swap": True, "samples": 3, "expected_score": False, "calls_per_item": {"single": 3, "pairwise": 6},
        "reasons": "full",
    }  # fmt: skip
    listed = {m.id: m.judging for m in client.models.list()}  # type: ignore[attr-defined]
    assert listed["pai-judge"]["calls_per_item"] == {"single": 1, "pairwise": 1}
    assert listed["pai-judge"]["expected_score"] is True  # logprobs = true in its config


def test_models_show_their_configured_description(client: OpenAI) -> None:
    judge: Any = client.models.retrieve("pai-judge")
    assert judge.description == "An upstream judge"
    plus: Any = client.models.retrieve("pai-judge-plus")
    assert plus.description is None  # none configured
    listed: dict[str, Any] = {m.id: m.description for m in client.models.list()}  # type: ignore[attr-defined]
    auto = "pai-judge first; pai-judge-plus only when pai-judge is not confident enough"
    assert listed == {"pai-judge": "An upstream judge", "pai-judge-plus": None, "pai-judge-auto": auto}
