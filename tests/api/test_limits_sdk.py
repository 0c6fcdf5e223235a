"""The official SDK's retry logic against a tenant's rate limits, over real HTTP: it waits out
``retry-after-ms`` and gets through, and gives up at once on a wait longer than it will honour."""

from __future__ import annotations

import json
import time
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from jurist.backends.base import Generation
from jurist.backends.fake import FakeBackend
from tests.support.live import LiveServer, live_server
from tests.support.services import API_KEY, FAKE_MODELS

CHAT = {"model": "pai-judge", "messages": [{"role": "user", "content": "Say ok."}]}
AUTH = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}


def answered(srv: LiveServer, status: int) -> int:
    """How many chat completions the server answered with ``status``."""
    labels = {"route": "create_chat_completion", "method": "POST", "status": str(status)}
    value = srv.services.metrics.registry.get_sample_value("jurist_http_requests_total", labels)
    return int(value or 0)


def sdk(srv: LiveServer, max_retries: int) -> OpenAI:
    client = OpenAI(api_key=API_KEY, base_url=srv.base_url, max_retries=max_retries)
    srv._clients.append(client)  # closed with the server
    return client


def test_the_sdk_waits_out_retry_after_and_gets_through(tmp_path: Path, fake: FakeBackend) -> None:
    with live_server(
        tmp_path, models=FAKE_MODELS, backends=dict.fromkeys(FAKE_MODELS, fake), default_rpm=60,
        run_worker=False, cache=False,
    ) as srv:  # fmt: skip
        for _ in range(200):  # spend the minute's 60 requests: one comes back each second
            resp = srv.request("POST", srv.base_url + "/chat/completions", json.dumps(CHAT), AUTH)
            if resp.status == 429:
                break
        else:
            pytest.fail("the requests-per-minute limit never refused")
        wait_ms = int(resp.headers["retry-after-ms"])
        assert 0 < wait_ms <= 1000
        refused = answered(srv, 429)
        began = time.monotonic()
        raw = sdk(srv, max_retries=2).chat.completions.with_raw_response.create(**CHAT)
        waited = time.monotonic() - began
        assert raw.http_response.status_code == 200
        assert answered(srv, 429) == refused + 1  # refused once, then through after the wait
        assert 0.5 * wait_ms / 1000 <= waited < 5
        assert raw.headers["x-ratelimit-limit-requests"] == "60"
        assert raw.headers["x-ratelimit-remaining-requests"] == "0"


def test_the_sdk_gives_up_on_a_wait_it_will_not_honour(tmp_path: Path, fake: FakeBackend) -> None:
    with live_server(
        tmp_path, models=FAKE_MODELS, backends=dict.fromkeys(FAKE_MODELS, fake), default_tpm=100,
        run_worker=False, cache=False,
    ) as srv:  # fmt: skip
        fake.enqueue(Generation("long", "stop", 20_000, 0))  # 200 minutes of tokens in one answer
        client = sdk(srv, max_retries=2)
        client.chat.completions.create(**CHAT)
        with pytest.raises(openai.RateLimitError) as info:
            client.chat.completions.create(**CHAT)
        assert info.value.code == "rate_limit_exceeded"
        assert "tokens per minute: Limit 100, Used 20000" in info.value.message
        assert int(info.value.response.headers["retry-after"]) > 120  # the SDK's most
        assert answered(srv, 429) == 1  # no retry
        assert len(fake.history) == 1
