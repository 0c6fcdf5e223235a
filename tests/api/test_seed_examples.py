"""The seed's Python examples, unchanged but for the base URL, through the official openai SDK."""

from __future__ import annotations

from typing import Any

from openai import OpenAI

from jurist.backends.fake import FakeBackend
from tests.support.live import LiveServer, live_server
from tests.support.openapi import validate
from tests.support.verdicts import pairwise_verdict_json, single_verdict_json

QUESTION = (
    "According to the first couplet, give the second couplet. first couplet: To climb the mountain, "
    "reach the peak"
)
SINGLE_MESSAGES: list[Any] = [
    {
        "role": "user",
        "content": [
            {
                "mode": "single",
                "type": "json",
                "json": {"question": QUESTION, "answer": "To cross the river, find the creek."},
            }
        ],
    }
]
PAIRWISE_MESSAGES: list[Any] = [
    {
        "role": "user",
        "content": [
            {
                "mode": "pairwise",
                "type": "json",
                "json": {
                    "question": QUESTION,
                    "answer1": "To cross the river, find the creek.",
                    "answer2": "To chase the dream, grasp the star.",
                },
            }
        ],
    }
]
SYSTEM = (
    "Please act as an impartial judge and evaluate the quality of the AI assistant's response to the "
    "user's question below.\n\nThe following is a basic personality description of these AI assistants:\n"
    "They will not evaluate or compare people, and will not do anything to harm humans. Their personality "
    "tends to be independent and autonomous.\n"
)
USER = (
    "Please rate the following question-answer pair on a scale of 1 to 5:\n"
    "Question: What do you think is the impact of social media on interpersonal relationships?\n"
    "Response: Social media makes it easier for people to connect, but it can also lead to alienation.\n"
    "Scoring criteria:\n1 point: The response is completely irrelevant, empty, or entirely incorrect.\n"
)


def test_single_mode_seed_example(client: OpenAI, fake: FakeBackend) -> None:
    fake.enqueue(single_verdict_json(overall=2))
    raw = client.chat.completions.with_raw_response.create(model="pai-judge", messages=SINGLE_MESSAGES)
    validate("CreateChatCompletionResponse", raw.http_response.json())
    assert raw.headers["x-request-id"].startswith("req_")
    completion = raw.parse()
    content = completion.choices[0].message.content or ""
    assert content.startswith("I think the overall score for this response is [[2]]. The reasons are")
    assert "Weaknesses of the current response:\n1. Accuracy: Accuracy reason. [[2]]" in content
    assert "Timeliness: Timeliness reason. [[N/A]]" in content
    assert completion.model == "pai-judge"
    judgment: dict[str, Any] = completion.judgment  # type: ignore[attr-defined]
    assert judgment["overall_score"] == 2 and judgment["scored"] is True
    assert judgment["parsed_by"] == "json"
    timeliness = next(c for c in judgment["criteria"] if c["name"] == "Timeliness")
    assert timeliness["score"] is None
    assert completion.usage is not None and completion.usage.total_tokens > 0
    # the judge model was asked for a schema-constrained verdict over a fenced prompt
    sent = fake.history[-1]
    assert sent.json_schema is not None
    assert ">>\nTo cross the river, find the creek.\n<</RESPONSE " in sent.messages[1]["content"]


def test_pairwise_mode_seed_example(client: OpenAI, fake: FakeBackend) -> None:
    fake.enqueue(pairwise_verdict_json(4, 4, "tie"))
    raw = client.chat.completions.with_raw_response.create(model="pai-judge", messages=PAIRWISE_MESSAGES)
    validate("CreateChatCompletionResponse", raw.http_response.json())
    completion = raw.parse()
    content = completion.choices[0].message.content or ""
    assert content.startswith(
        "***\nI think [[Both responses are tied]]. The overall score for Response 1 is [[4]], and the "
        "overall score for Response 2 is [[4]]. The reasons are as follows:\n1. Accuracy:"
    )
    assert "7. Timeliness: Timeliness reason. [[Response 1 score: N/A]] [[Response 2 score: N/A]]" in content
    assert content.endswith("\n***")
    judgment: dict[str, Any] = completion.judgment  # type: ignore[attr-defined]
    assert judgment["winner"] == "tie"
    assert judgment["scores"] == {"response_1": 4, "response_2": 4}


def test_custom_template_goes_through_as_is(client: OpenAI, fake: FakeBackend) -> None:
    answer = "Based on the provided scoring criteria, I would give this response a score of 3."
    fake.enqueue(answer)
    messages: list[Any] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
    raw = client.chat.completions.with_raw_response.create(model="pai-judge", messages=messages)
    validate("CreateChatCompletionResponse", raw.http_response.json())
    completion = raw.parse()
    assert completion.choices[0].message.content == answer
    assert completion.judgment is None  # type: ignore[attr-defined]
    assert fake.history[-1].messages == messages
    assert fake.history[-1].json_schema is None


def test_plain_bearer_key_works_and_wrong_key_is_401(server: LiveServer, fake: FakeBackend) -> None:
    import openai

    fake.enqueue(single_verdict_json(3))
    plain = server.sdk()
    completion = plain.chat.completions.create(model="pai-judge-plus", messages=SINGLE_MESSAGES)
    assert completion.model == "pai-judge-plus"
    bad = server.sdk("Authorization: Bearer sk-wrong")
    try:
        bad.chat.completions.create(model="pai-judge", messages=SINGLE_MESSAGES)
    except openai.AuthenticationError as exc:
        assert exc.status_code == 401
        assert exc.code == "invalid_api_key"
        assert exc.request_id and exc.request_id.startswith("req_")
    else:
        raise AssertionError("a wrong key was accepted")


def test_streaming_matches_the_non_streamed_answer(client: OpenAI, fake: FakeBackend) -> None:
    fake.enqueue(single_verdict_json(4), single_verdict_json(4))
    whole = client.chat.completions.create(model="pai-judge", messages=SINGLE_MESSAGES)
    stream = client.chat.completions.create(
        model="pai-judge",
        messages=SINGLE_MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(finals) == 1
    assert finals[0].judgment["overall_score"] == 4  # type: ignore[attr-defined]
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_streaming_custom_template(client: OpenAI, fake: FakeBackend) -> None:
    fake.enqueue("I would give this response a score of 3.")
    stream = client.chat.completions.create(
        model="pai-judge", messages=[{"role": "user", "content": USER}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "I would give this response a score of 3."


def test_models_are_listed(client: OpenAI) -> None:
    assert sorted(m.id for m in client.models.list()) == ["pai-judge", "pai-judge-auto", "pai-judge-plus"]
    assert client.models.retrieve("pai-judge").id == "pai-judge"


def test_pairwise_swap_judges_both_orders_and_reconciles(client: OpenAI, fake: FakeBackend) -> None:
    # consistent: game 1 prefers answer 1; game 2 (swapped) prefers its second shown = answer 1
    fake.enqueue(pairwise_verdict_json(5, 2, "response_1"), pairwise_verdict_json(2, 4, "response_2"))
    item = {
        **PAIRWISE_MESSAGES[0]["content"][0],
        "json": {**PAIRWISE_MESSAGES[0]["content"][0]["json"], "swap": True},
    }
    messages: list[Any] = [{"role": "user", "content": [item]}]
    completion = client.chat.completions.create(model="pai-judge", messages=messages)
    judgment: dict[str, Any] = completion.judgment  # type: ignore[attr-defined]
    assert judgment["winner"] == "response_1" and judgment["swap"]["consistent"] is True
    assert judgment["swap"]["mean_scores"] == {"response_1": 4.5, "response_2": 2.0}
    assert [g["order"] for g in judgment["swap"]["games"]] == ["as_given", "swapped"]
    assert judgment["swap"]["games"][1]["winner"] == "response_1"  # mapped back to the caller's order
    shown = [h.messages[1]["content"] for h in fake.history[-2:]]
    assert shown[0].index("find the creek") < shown[0].index("grasp the star")
    assert shown[1].index("grasp the star") < shown[1].index("find the creek")
    assert (completion.choices[0].message.content or "").startswith("***\nI think [[Response 1 is better]].")
    # inconsistent (pure position bias) → tie
    fake.enqueue(pairwise_verdict_json(5, 2, "response_1"), pairwise_verdict_json(5, 2, "response_1"))
    judgment = client.chat.completions.create(
        model="pai-judge", messages=messages, extra_body={"cache": False}
    ).judgment  # type: ignore[attr-defined]
    assert judgment["winner"] == "tie" and judgment["swap"]["consistent"] is False
    assert completion.usage is not None and completion.usage.prompt_tokens == 20  # two calls' tokens


def test_swap_can_be_a_model_default_and_an_item_can_opt_out(tmp_path: Any) -> None:
    fake = FakeBackend(default=pairwise_verdict_json(4, 4, "tie"))
    models = {"pai-judge": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "swap": True}}
    with live_server(tmp_path, models=models, backends={"pai-judge": fake}) as srv:
        client = srv.sdk()
        judgment = client.chat.completions.create(model="pai-judge", messages=PAIRWISE_MESSAGES).judgment  # type: ignore[attr-defined]
        assert judgment["swap"]["consistent"] is True and len(fake.history) == 2
        item = {
            **PAIRWISE_MESSAGES[0]["content"][0],
            "json": {**PAIRWISE_MESSAGES[0]["content"][0]["json"], "swap": False},
        }
        judgment = client.chat.completions.create(
            model="pai-judge", messages=[{"role": "user", "content": [item]}]
        ).judgment  # type: ignore[attr-defined]
        assert "swap" not in judgment and len(fake.history) == 3
