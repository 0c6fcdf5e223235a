"""The OpenAI-compatible upstream backend against the shared stub, fault injection included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.support.http import request
from tests.support.live import LiveServer, StubUpstream, live_server
from tests.support.openapi import validate
from tests.support.services import API_KEY

SINGLE = [
    {
        "role": "user",
        "content": [{"mode": "single", "type": "json", "json": {"question": "q?", "answer": "a"}}],
    }
]
PAIRWISE = [
    {
        "role": "user",
        "content": [
            {"mode": "pairwise", "type": "json", "json": {"question": "q?", "answer1": "a", "answer2": "b"}}
        ],
    }
]


def models_for(stub: StubUpstream, **extra: Any) -> dict[str, Any]:
    cfg = {
        "backend": "openai",
        "base_url": stub.base_url,
        "model": "stub-judge",
        "api_key": "up-key",
        **extra,
    }
    return {"pai-judge": cfg}


@pytest.fixture
def upstream_server(tmp_path: Path, stub: StubUpstream) -> Iterator[LiveServer]:
    with live_server(tmp_path, models=models_for(stub)) as srv:
        yield srv


def test_custom_template_passthrough(upstream_server: LiveServer) -> None:
    raw = upstream_server.sdk().chat.completions.with_raw_response.create(
        model="pai-judge", messages=[{"role": "user", "content": "Rate this."}]
    )
    body = raw.http_response.json()
    validate("CreateChatCompletionResponse", body)
    assert body["model"] == "pai-judge"  # the upstream's own model name is not leaked
    assert body["choices"][0]["message"]["content"].endswith(
        "I think the overall score for this response is [[3]]."
    )
    assert body["usage"] == {"prompt_tokens": 412, "completion_tokens": 71, "total_tokens": 483}


def test_single_judgment_through_a_text_only_upstream(upstream_server: LiveServer) -> None:
    completion = upstream_server.sdk().chat.completions.create(model="pai-judge", messages=SINGLE)
    judgment: dict[str, Any] = completion.judgment  # type: ignore[attr-defined]
    assert judgment["overall_score"] == 3
    assert judgment["parsed_by"] == "text"
    assert (completion.choices[0].message.content or "").startswith(
        "I think the overall score for this response is [[3]]."
    )


def test_pairwise_without_a_verdict_is_unscored_after_repair(upstream_server: LiveServer) -> None:
    completion = upstream_server.sdk().chat.completions.create(model="pai-judge", messages=PAIRWISE)
    judgment: dict[str, Any] = completion.judgment  # type: ignore[attr-defined]
    assert judgment["scored"] is False and judgment["winner"] is None
    assert completion.usage is not None and completion.usage.prompt_tokens == 2 * 412  # two real calls


def test_streaming_from_a_non_streaming_upstream(upstream_server: LiveServer) -> None:
    stream = upstream_server.sdk().chat.completions.create(
        model="pai-judge", messages=[{"role": "user", "content": "Rate this."}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text.endswith("[[3]].")


def test_upstream_429_stays_429_with_retry_after(tmp_path: Path) -> None:
    with (
        StubUpstream("--fail-rate", "1", "--fail-429-share", "1") as stub,
        live_server(tmp_path, models=models_for(stub)) as srv,
    ):
        resp = request(
            "POST",
            srv.base_url + "/chat/completions",
            json.dumps({"model": "pai-judge", "messages": [{"role": "user", "content": "x"}]}),
            {"Authorization": f"Bearer {API_KEY}"},
        )
        assert resp.status == 429
        assert resp.headers["retry-after"] == "1"
        assert resp.json()["error"]["code"] == "rate_limit_exceeded"


def test_upstream_5xx_becomes_502(tmp_path: Path) -> None:
    with (
        StubUpstream("--fail-rate", "1", "--fail-429-share", "0") as stub,
        live_server(tmp_path, models=models_for(stub)) as srv,
        pytest.raises(openai.APIStatusError) as info,
    ):
        srv.sdk().chat.completions.create(model="pai-judge", messages=SINGLE)
    assert info.value.status_code == 502
    assert "upstream error 500" in info.value.message


def test_upstream_timeout_becomes_504(tmp_path: Path) -> None:
    with (
        StubUpstream("--timeout-rate", "1", "--hang-s", "5") as stub,
        live_server(tmp_path, models=models_for(stub, timeout=0.5)) as srv,
        pytest.raises(openai.APIStatusError) as info,
    ):
        srv.sdk().chat.completions.create(model="pai-judge", messages=SINGLE)
    assert info.value.status_code == 504


def test_unreachable_upstream_is_502(tmp_path: Path) -> None:
    models = {"pai-judge": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1"}}
    with live_server(tmp_path, models=models) as srv, pytest.raises(openai.APIStatusError) as info:
        srv.sdk().chat.completions.create(model="pai-judge", messages=SINGLE)
    assert info.value.status_code == 502
    assert info.value.code == "upstream_unavailable"
