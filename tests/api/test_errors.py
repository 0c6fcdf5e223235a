"""Bad input always gets a clear 4xx in the OpenAI envelope, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jurist.backends.fake import FakeBackend
from tests.support.http import RawResponse, Server
from tests.support.inprocess import InProcessServer
from tests.support.live import live_server
from tests.support.services import API_KEY, FAKE_MODELS
from tests.support.verdicts import pairwise_verdict_json, single_verdict_json

AUTH = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}


def post(server: Server, body: Any, headers: dict[str, str] | None = None) -> RawResponse:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return server.request("POST", server.base_url + "/chat/completions", data, headers or AUTH)


def item(mode: str = "single", **fields: Any) -> dict[str, Any]:
    return {
        "model": "pai-judge",
        "messages": [{"role": "user", "content": [{"mode": mode, "type": "json", "json": fields}]}],
    }


def assert_envelope(
    resp: RawResponse, status: int, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    assert resp.status == status, resp.body
    assert resp.headers["x-request-id"].startswith("req_")
    error = resp.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    if param is not None:
        assert error["param"] == param
    if code is not None:
        assert error["code"] == code
    return dict(error)


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        ("{not json", 400, None, "invalid_json"),
        ("", 400, None, "invalid_json"),
        ("[1, 2]", 400, None, None),
        ({"model": "pai-judge", "messages": []}, 400, "messages", None),
        ({"messages": [{"role": "user", "content": "hi"}]}, 400, "model", None),
        ({"model": "nope", "messages": [{"role": "user", "content": "hi"}]}, 404, "model", "model_not_found"),
        (
            {"model": "pai-judge", "messages": [{"role": "wizard", "content": "x"}]},
            400,
            "messages[0].role",
            None,
        ),
        ({"model": "pai-judge", "messages": "hello"}, 400, "messages", None),
        (
            {"model": "pai-judge", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"},
            400,
            "temperature",
            None,
        ),
        ({"model": "pai-judge", "messages": [{"role": "user", "content": "x"}], "n": 3}, 400, "n", None),
        (item(answer="a"), 400, "messages[0].content[0].json.question", None),
        (item(question="q"), 400, "messages[0].content[0].json.answer", None),
        (item("pairwise", question="q", answer1="a"), 400, "messages[0].content[0].json.answer2", None),
        (item(question=3, answer="a"), 400, "messages[0].content[0].json.question", None),
        (item("triple", question="q", answer="a"), 400, "messages[0].content[0].mode", None),
        (
            item(question="q", answer="a", score_range=[5, 1]),
            400,
            "messages[0].content[0].json.score_range",
            None,
        ),
        (item(question="q", answer="a", criteria=[]), 400, "messages[0].content[0].json.criteria", None),
        (item(question="q", answer="a", criteria=["A", "a"]), 400, "messages[0].content[0].json", None),
    ],
)
def test_bad_requests_get_the_envelope(
    app: InProcessServer, body: Any, status: int, param: str | None, code: str | None
) -> None:
    assert_envelope(post(app, body), status, param, code)


def test_judge_item_without_json_object(app: InProcessServer) -> None:
    body = {
        "model": "pai-judge",
        "messages": [{"role": "user", "content": [{"mode": "single", "type": "json"}]}],
    }
    assert_envelope(post(app, body), 400, "messages[0].content[0].json")


def test_two_judge_items_are_refused(app: InProcessServer) -> None:
    part = {"mode": "single", "type": "json", "json": {"question": "q", "answer": "a"}}
    body = {"model": "pai-judge", "messages": [{"role": "user", "content": [part, part]}]}
    assert_envelope(post(app, body), 400, "messages[0].content[1]")


def test_oversized_body_is_413(tmp_path: Any, fake: FakeBackend) -> None:
    # a live server: the second body is sent with chunked framing, which uvicorn decodes
    with live_server(tmp_path, models=FAKE_MODELS, backends={"pai-judge": fake, "pai-judge-plus": fake},
                     max_request_bytes=4096) as small:  # fmt: skip
        big = item(question="q", answer="x" * 10_000)
        assert_envelope(post(small, big), 413, code="payload_too_large")
        chunked = {**AUTH, "Transfer-Encoding": "chunked"}
        data = json.dumps(big).encode()
        raw = hex(len(data))[2:].encode() + b"\r\n" + data + b"\r\n0\r\n\r\n"
        assert_envelope(post(small, raw, chunked), 413, code="payload_too_large")


def test_missing_and_wrong_keys_are_401(app: InProcessServer) -> None:
    body = item(question="q", answer="a")
    for headers in (
        {"Content-Type": "application/json"},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic x"},
    ):
        assert_envelope(post(app, body, headers), 401, code="invalid_api_key")


def test_unknown_fields_and_stainless_headers_are_ignored(app: InProcessServer, fake: FakeBackend) -> None:
    fake.enqueue("fine")
    body = {
        "model": "pai-judge",
        "messages": [{"role": "user", "content": "hello", "extra_field": 1}],
        "some_future_option": {"x": 1},
    }
    headers = {**AUTH, "X-Stainless-Lang": "python", "X-Stainless-Retry-Count": "0", "OpenAI-Project": "p"}
    resp = post(app, body, headers)
    assert resp.status == 200, resp.body
    assert resp.json()["choices"][0]["message"]["content"] == "fine"
    assert fake.history[-1].extra == {"some_future_option": {"x": 1}}


def test_unknown_route_and_method(app: InProcessServer) -> None:
    assert_envelope(app.request("GET", app.base_url + "/nothing", headers=AUTH), 404)
    assert_envelope(app.request("GET", app.base_url + "/chat/completions", headers=AUTH), 405)
    assert_envelope(
        app.request("GET", app.base_url + "/models/nope", headers=AUTH), 404, code="model_not_found"
    )


def test_backend_failure_is_clean_5xx_not_a_crash(app: InProcessServer, fake: FakeBackend) -> None:
    from jurist.errors import BackendTimeout

    fake.enqueue(BackendTimeout("upstream for model 'pai-judge' timed out"))
    error = assert_envelope(post(app, item(question="q", answer="a")), 504, code="upstream_timeout")
    assert "timed out" in error["message"]


def test_unparseable_judge_output_is_unscored_after_one_repair(
    app: InProcessServer, fake: FakeBackend
) -> None:
    fake.enqueue("I like turtles.", "Still no verdict here.")
    resp = post(app, item(question="Is the sky blue?", answer="Yes"))
    assert resp.status == 200
    body = resp.json()
    judgment = body["judgment"]
    assert judgment["scored"] is False and judgment["overall_score"] is None
    assert judgment["parsed_by"] == "unscored" and judgment["attempts"] == 2
    assert "[[" not in body["choices"][0]["message"]["content"]
    assert len(fake.history) == 2
    assert fake.history[1].messages[-2] == {"role": "assistant", "content": "I like turtles."}


def test_repair_reask_recovers_a_verdict(app: InProcessServer, fake: FakeBackend) -> None:
    fake.enqueue("Let me think about it.", single_verdict_json(5))
    body = post(app, item(question="Is the sky blue?", answer="Yes")).json()
    assert body["judgment"]["overall_score"] == 5
    assert body["judgment"]["parsed_by"] == "repair_json"


def test_return_prompt_scene_range_and_criteria(app: InProcessServer, fake: FakeBackend) -> None:
    fake.enqueue(
        json.dumps(
            {
                "criteria": {"Fidelity": {"reason": "faithful", "score": 9}},
                "summary": "Good translation.",
                "overall_score": 8,
            }
        )
    )
    body = item(
        question="Translate 'bonjour' into English.",
        answer="hello",
        criteria=[{"name": "Fidelity", "description": "Keeps the meaning."}],
        score_range=[1, 10],
        return_prompt=True,
    )
    judgment = post(app, body).json()["judgment"]
    assert judgment["score_range"] == [1, 10]
    assert judgment["scene"] == "translation"
    assert judgment["criteria"] == [{"name": "Fidelity", "score": 9, "reason": "faithful"}]
    prompt = judgment["prompt"]
    assert prompt[0]["role"] == "system" and "from 1 (worst) to 10 (best)" in prompt[0]["content"]
    assert "1. Fidelity: Keeps the meaning." in prompt[0]["content"]
    schema = fake.history[-1].json_schema
    assert schema is not None and schema["properties"]["overall_score"]["enum"] == list(range(1, 11))


def test_chinese_question_gets_a_chinese_verdict(app: InProcessServer, fake: FakeBackend) -> None:
    fake.enqueue(json.dumps({"criteria": {}, "summary": "回答正确。", "overall_score": 4}))
    body = post(app, item(question="法国的首都是哪里？", answer="巴黎")).json()
    content = body["choices"][0]["message"]["content"]
    assert content.startswith("我认为该回答的总体评分为[[4]]。")
    assert body["judgment"]["language"] == "zh"
    assert "Chinese" in fake.history[-1].messages[0]["content"]


def test_an_unexpected_bug_is_an_enveloped_500_with_request_id(
    app: InProcessServer, fake: FakeBackend
) -> None:
    fake.enqueue(RuntimeError("boom"))
    error = assert_envelope(post(app, item(question="q", answer="a")), 500)
    assert error["type"] == "server_error" and "boom" not in error["message"]


def test_multi_turn_conversation_as_the_question(app: InProcessServer, fake: FakeBackend) -> None:
    fake.enqueue(pairwise_verdict_json(4, 2, "response_1"))
    conversation = [
        {"role": "user", "content": "Name a prime number."},
        {"role": "assistant", "content": "7"},
        {"role": "user", "content": "Now name one bigger than 100."},
    ]
    body = item("pairwise", question=conversation, answer1="101", answer2="100", reference="101 is prime.")
    resp = post(app, body)
    assert resp.status == 200, resp.body
    assert resp.json()["judgment"]["winner"] == "response_1"
    prompt = fake.history[-1].messages[1]["content"]
    assert (
        "### User:\nName a prime number.\n\n### Assistant:\n7\n\n### User:\nNow name one bigger than 100."
        in prompt
    )
    assert "last user turn" in prompt and ">>\n101 is prime.\n<</REFERENCE ANSWER " in prompt
    bad = item(
        "single",
        question=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
        answer="x",
    )
    assert_envelope(post(app, bad), 400, "messages[0].content[0].json.question")
    assert_envelope(
        post(app, item("single", question=[], answer="x")), 400, "messages[0].content[0].json.question"
    )
