"""Per-tenant requests and tokens per minute on POST /v1/chat/completions: OpenAI's x-ratelimit-*
headers on every response of a limited tenant, 429 + Retry-After in the envelope past a limit, tokens
charged after the completion (streams when they end), and nothing at all for a tenant without limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jurist.backends.base import Generation
from jurist.backends.fake import FakeBackend
from jurist.service.tenancy.limits import duration
from tests.support.http import RawResponse
from tests.support.inprocess import InProcessServer, in_process_server
from tests.support.live import FrozenClock
from tests.support.services import API_KEY, FAKE_MODELS

AUTH = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
CHAT = {"model": "pai-judge", "messages": [{"role": "user", "content": "Say ok."}]}
REQUEST_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
)
TOKEN_HEADERS = ("x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def limits() -> dict[str, int]:
    """The default limits of ``limited`` (a test parametrizes this)."""
    return {}


@pytest.fixture
def limited(
    tmp_path: Path, fake: FakeBackend, clock: FrozenClock, limits: dict[str, int]
) -> Iterator[InProcessServer]:
    """An app on the frozen clock whose tenants are held to ``limits``."""
    with in_process_server(
        tmp_path, models=FAKE_MODELS, backends=dict.fromkeys(FAKE_MODELS, fake), clock=clock,
        run_worker=False, cache=False, **limits,
    ) as srv:  # fmt: skip
        yield srv


def held_to(**limits: int) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("limits", [limits], ids=["-".join(f"{k}={v}" for k, v in limits.items())])


def chat(app: InProcessServer, body: Any = None, headers: dict[str, str] | None = None) -> RawResponse:
    data = body if isinstance(body, str) else json.dumps(body or CHAT)
    return app.request("POST", app.base_url + "/chat/completions", data, headers or AUTH)


def figures(resp: RawResponse) -> dict[str, str]:
    return {k: v for k, v in resp.headers.items() if k.startswith("x-ratelimit-")}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.0004, "0s"), (0.12, "120ms"), (1, "1s"), (1.2, "1.2s"), (30.6, "30.6s"),
     (59.9995, "1m0s"), (360, "6m0s"), (3723.5, "1h2m3.5s")],
)  # fmt: skip
def test_waits_are_written_as_openai_writes_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_a_tenant_without_limits_gets_no_headers_and_costs_no_database_call(
    tmp_path: Path, fake: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    with in_process_server(
        tmp_path, models=FAKE_MODELS, backends=dict.fromkeys(FAKE_MODELS, fake), run_worker=False, cache=False
    ) as app:
        transactions = []
        real = app.services.db.transaction

        def counted() -> Any:
            transactions.append(1)
            return real()

        monkeypatch.setattr(app.services.db, "transaction", counted)
        for body in (CHAT, {**CHAT, "stream": True}, {**CHAT, "model": "nope"}):
            resp = chat(app, body)
            assert not figures(resp), resp.headers
        assert transactions == []
        assert resp.status == 404  # the last one: errors too


@held_to(default_rpm=5, default_tpm=1000)
def test_every_response_of_a_limited_tenant_carries_the_figures(
    limited: InProcessServer, fake: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.enqueue(Generation("ok", "stop", 10, 5), Generation("ok", "stop", 10, 5))
    first = chat(limited)
    assert first.status == 200, first.body
    # one request of 5 taken (12 s to refill it); 15 tokens charged after (0.9 s at 1000 a minute)
    assert figures(first) == {
        "x-ratelimit-limit-requests": "5", "x-ratelimit-remaining-requests": "4",
        "x-ratelimit-reset-requests": "12s",
        "x-ratelimit-limit-tokens": "1000", "x-ratelimit-remaining-tokens": "985",
        "x-ratelimit-reset-tokens": "900ms",
    }  # fmt: skip
    second = chat(limited)
    assert figures(second)["x-ratelimit-remaining-requests"] == "3"
    assert figures(second)["x-ratelimit-reset-requests"] == "24s"
    assert figures(second)["x-ratelimit-remaining-tokens"] == "970"
    # errors count as requests and carry the figures too; an unknown key has no tenant, so none
    bad_json = chat(limited, "{not json")
    assert bad_json.status == 400
    assert figures(bad_json)["x-ratelimit-remaining-requests"] == "2"
    unknown = chat(limited, {**CHAT, "model": "nope"})
    assert unknown.status == 404
    assert figures(unknown)["x-ratelimit-remaining-requests"] == "1"
    assert unknown.headers["x-request-id"].startswith("req_")
    anonymous = chat(limited, headers={"Authorization": "Bearer sk-wrong"})
    assert anonymous.status == 401
    assert not figures(anonymous)
    # and the limits are kept in the database, not in this process
    transactions = []
    real = limited.services.db.transaction

    def counted() -> Any:
        transactions.append(1)
        return real()

    monkeypatch.setattr(limited.services.db, "transaction", counted)
    chat(limited)
    assert len(transactions) == 3  # tokens checked, a request taken, tokens charged


@held_to(default_rpm=2)
def test_past_the_requests_per_minute_a_429_in_the_envelope_with_retry_after(
    limited: InProcessServer, clock: FrozenClock
) -> None:
    assert chat(limited).status == 200
    assert chat(limited).status == 200
    refused = chat(limited)
    assert refused.status == 429
    assert refused.json() == {
        "error": {
            "message": "Rate limit reached for requests per minute: Limit 2, Used 2, Requested 1. "
            "Please try again in 30s.",
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    assert refused.headers["retry-after"] == "30"
    assert refused.headers["retry-after-ms"] == "30000"
    assert "x-should-retry" not in refused.headers  # a rate: worth retrying once the wait is over
    assert figures(refused) == {
        "x-ratelimit-limit-requests": "2", "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "1m0s",
    }  # fmt: skip
    clock.advance(29)
    assert chat(limited).status == 429  # a refused request took nothing, and the wait holds
    clock.advance(1)
    assert chat(limited).status == 200
    assert chat(limited).status == 429


@held_to(default_tpm=100)
def test_tokens_are_charged_after_the_completion(
    limited: InProcessServer, fake: FakeBackend, clock: FrozenClock
) -> None:
    fake.enqueue(Generation("long", "stop", 100, 50))
    first = chat(limited)  # let through on a full bucket; its 150 tokens put the bucket in debt
    assert first.status == 200
    assert figures(first) == {
        "x-ratelimit-limit-tokens": "100", "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "1m30s",
    }  # fmt: skip
    refused = chat(limited)
    assert refused.status == 429
    error = refused.json()["error"]
    assert error["code"] == "rate_limit_exceeded"
    assert error["message"] == (
        "Rate limit reached for tokens per minute: Limit 100, Used 150. Please try again in 30.6s."
    )
    assert refused.headers["retry-after"] == "31"
    assert refused.headers["retry-after-ms"] == "30600"
    assert len(fake.history) == 1  # the refused request never reached the model
    clock.advance(31)
    assert chat(limited).status == 200


@held_to(default_tpm=1000)
def test_a_stream_is_charged_when_it_ends(limited: InProcessServer, fake: FakeBackend) -> None:
    fake.enqueue(Generation("a b c", "stop", 20, 3), Generation("ok", "stop", 10, 7))
    stream = chat(limited, {**CHAT, "stream": True})
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.body.endswith(b"data: [DONE]\n\n")
    assert figures(stream) == {  # sent before the stream: the bucket as it was; no rpm set, no trio
        "x-ratelimit-limit-tokens": "1000", "x-ratelimit-remaining-tokens": "1000",
        "x-ratelimit-reset-tokens": "0s",
    }  # fmt: skip
    after = chat(limited)
    assert not set(REQUEST_HEADERS) & set(figures(after))
    # 23 tokens for the stream (its usage was not asked for), 17 for this one: 40 of 1000, 2.4 s
    assert figures(after)["x-ratelimit-remaining-tokens"] == "960"
    assert figures(after)["x-ratelimit-reset-tokens"] == "2.4s"


@held_to(default_rpm=1)
def test_sub_tenants_share_their_account_s_limits(limited: InProcessServer) -> None:
    assert chat(limited, headers={**AUTH, "X-On-Behalf-Of": "team-a"}).status == 200
    refused = chat(limited, headers={**AUTH, "X-On-Behalf-Of": "team-b"})
    assert refused.status == 429
    assert set(TOKEN_HEADERS).isdisjoint(figures(refused))
    assert chat(limited).status == 429
