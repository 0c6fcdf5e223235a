"""An account's batches in progress, queued lines and stored bytes (its sub-tenants' included), through
the official SDK: a create past a limit is a 429 the SDK does not retry; a batch whose lines would
pass the queued-lines limit fails at validation, as OpenAI's enqueued-limit failure does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI

from jurist.backends.fake import FakeBackend
from jurist.errors import BackendUnavailable
from tests.support.batches import upload, wait_for
from tests.support.live import LiveServer, live_server
from tests.support.services import API_KEY, FAKE_MODELS

OTHER_KEY = "sk-other-tenant-0123456789"


def lines(n: int, prefix: str = "r") -> str:
    body = {"model": "pai-judge", "messages": [{"role": "user", "content": "Say ok."}]}
    return "".join(json.dumps({"custom_id": f"{prefix}{i}", "body": body}) + "\n" for i in range(n))


@pytest.fixture
def limits() -> dict[str, int]:
    return {}


@pytest.fixture
def srv(tmp_path: Path, fake: FakeBackend, limits: dict[str, int]) -> Iterator[LiveServer]:
    """Lines the fake answers with an outage wait 30 s for their retry: their batch stays in progress."""
    with live_server(
        tmp_path, models=FAKE_MODELS, backends=dict.fromkeys(FAKE_MODELS, fake), cache=False,
        api_keys=[API_KEY, OTHER_KEY], retry_base_seconds=30, **limits,
    ) as server:  # fmt: skip
        yield server


def retrying_sdk(srv: LiveServer, **headers: str) -> OpenAI:
    """A client with the SDK's default retries (the server's own ``sdk()`` has none)."""
    client = OpenAI(api_key=API_KEY, base_url=srv.base_url, max_retries=2, default_headers=headers or None)
    srv._clients.append(client)
    return client


def refusals(srv: LiveServer, route: str) -> int:
    labels = {"route": route, "method": "POST", "status": "429"}
    return int(srv.services.metrics.registry.get_sample_value("jurist_http_requests_total", labels) or 0)


def create(client: OpenAI, file_id: str) -> Any:
    return client.batches.create(
        input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
    )


def stall(fake: FakeBackend, n: int) -> None:
    fake.enqueue(*(BackendUnavailable("down for the test") for _ in range(n)))


@pytest.mark.parametrize("limits", [{"default_max_batches": 1}])
def test_batches_in_progress_are_limited_per_account(
    srv: LiveServer, fake: FakeBackend, tmp_path: Path
) -> None:
    stall(fake, 2)
    client = srv.sdk()
    file_id = upload(client, tmp_path, lines(2))
    first = create(client, file_id)
    wait_for(client, first.id, {"in_progress"})
    with pytest.raises(openai.RateLimitError) as info:
        create(retrying_sdk(srv), file_id)
    assert refusals(srv, "create_batch") == 1  # x-should-retry: false, so the SDK did not retry
    error = info.value
    assert error.code == "rate_limit_exceeded"
    assert "- Batch limit reached for tenant key_" in error.message
    assert "1 of 1 batches in progress" in error.message
    assert error.response.headers["retry-after"] == "60"
    assert error.response.headers["x-should-retry"] == "false"
    # a sub-tenant shares its account's limit; another account has its own
    behalf = srv.sdk(**{"X-On-Behalf-Of": "team-a"})
    with pytest.raises(openai.RateLimitError):
        create(behalf, upload(behalf, tmp_path, lines(1), "team.jsonl"))
    other = srv.sdk(OTHER_KEY)
    assert create(other, upload(other, tmp_path, lines(1), "other.jsonl")).status == "validating"
    # a finished batch no longer counts
    client.batches.cancel(first.id)
    wait_for(client, first.id, {"cancelled"})
    assert create(client, file_id).status == "validating"


@pytest.mark.parametrize("limits", [{"default_max_queued_lines": 5}])
def test_queued_lines_are_limited_at_validation_and_at_create(
    srv: LiveServer, fake: FakeBackend, tmp_path: Path
) -> None:
    stall(fake, 5)
    client = srv.sdk()
    three = create(client, upload(client, tmp_path, lines(3)))
    wait_for(client, three.id, {"in_progress"})
    # 3 queued: another 3 fit at create (3 < 5), not at validation (3 + 3 > 5)
    over = create(client, upload(client, tmp_path, lines(3, "o"), "over.jsonl"))
    failed = wait_for(client, over.id, {"failed", "in_progress"})
    assert failed.status == "failed"
    assert failed.errors is not None and failed.errors.data is not None
    [error] = failed.errors.data
    assert error.code == "queued_lines_limit_exceeded"
    assert error.message is not None
    assert "Limit: 5 queued lines; 3 already queued and this batch has 3." in error.message
    assert error.line is None
    # two more fit exactly; then the account is full, and a create is refused at once
    two = create(client, upload(client, tmp_path, lines(2, "t"), "two.jsonl"))
    assert wait_for(client, two.id, {"failed", "in_progress"}).status == "in_progress"
    with pytest.raises(openai.RateLimitError) as info:
        create(client, upload(client, tmp_path, lines(1, "x"), "one.jsonl"))
    assert "Enqueued line limit reached" in info.value.message
    assert "5 of 5 queued lines" in info.value.message
    other = srv.sdk(OTHER_KEY)
    assert create(other, upload(other, tmp_path, lines(1), "other.jsonl")).status == "validating"


@pytest.mark.parametrize("limits", [{"tenant_quota_bytes": 1000}])
def test_stored_bytes_are_limited_per_account(srv: LiveServer, tmp_path: Path) -> None:
    client = srv.sdk()
    upload(client, tmp_path, lines(5))  # 5 lines of 106 bytes: 530 of 1000
    with pytest.raises(openai.RateLimitError) as info:
        upload(retrying_sdk(srv, **{"X-On-Behalf-Of": "team-a"}), tmp_path, lines(5, "s"), "sub.jsonl")
    assert refusals(srv, "create_file") == 1
    assert info.value.code == "rate_limit_exceeded"
    assert (
        "- Storage quota exceeded: 530 of 1000 bytes used; this upload needs 530 more." in info.value.message
    )
    assert info.value.response.headers["x-should-retry"] == "false"
    assert "retry-after" in info.value.response.headers
    other = srv.sdk(OTHER_KEY)
    upload(other, tmp_path, lines(5, "s"), "other.jsonl")
    assert len(list(client.files.list())) == 1
