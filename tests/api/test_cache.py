"""Deterministic, cached judging: temperature 0 + same model + same input → the same verdict from the store."""

from __future__ import annotations

import json
from typing import Any

from jurist.backends.fake import FakeBackend
from tests.support.http import request
from tests.support.live import API_KEY, LiveServer
from tests.support.verdicts import single_verdict_json

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def ask(server: LiveServer, **extra: Any) -> Any:
    body = {
        "model": "pai-judge",
        "messages": [
            {
                "role": "user",
                "content": [{"mode": "single", "type": "json", "json": {"question": "2+2?", "answer": "4"}}],
            }
        ],
        **extra,
    }
    return request("POST", server.base_url + "/chat/completions", json.dumps(body), AUTH)


def test_repeated_requests_are_served_from_the_cache(server: LiveServer, fake: FakeBackend) -> None:
    fake.enqueue(single_verdict_json(4), single_verdict_json(1), single_verdict_json(2))
    first, second = ask(server), ask(server)
    assert first.headers["x-jurist-cache"] == "miss" and second.headers["x-jurist-cache"] == "hit"
    assert len(fake.history) == 1
    a, b = first.json(), second.json()
    assert a["choices"] == b["choices"] and a["judgment"] == b["judgment"] and a["id"] != b["id"]
    bypass = ask(server, cache=False)
    assert "x-jurist-cache" not in bypass.headers and bypass.json()["judgment"]["overall_score"] == 1
    sampled = ask(server, temperature=0.7)
    assert "x-jurist-cache" not in sampled.headers and len(fake.history) == 3
    assert "cache" not in fake.history[-1].extra  # Jurist's switch is never forwarded
    text = request("GET", server.base_url.removesuffix("/v1") + "/metrics").body.decode()
    assert (
        'jurist_judge_cache_total{result="hit"} 1.0' in text
        and 'jurist_judge_cache_total{result="miss"} 1.0' in text
    )


def test_unscored_verdicts_are_not_cached(server: LiveServer, fake: FakeBackend) -> None:
    fake.enqueue("no verdict", "still none", single_verdict_json(3))
    assert ask(server).json()["judgment"]["scored"] is False
    assert ask(server).json()["judgment"]["overall_score"] == 3


def test_a_repeated_batch_is_answered_from_the_cache_at_validation(
    client: Any, fake: FakeBackend, tmp_path: Any
) -> None:
    from tests.api.test_batches import SEED_INPUT, upload, wait_for

    fake.default = single_verdict_json(3)
    file_id = upload(client, tmp_path, SEED_INPUT)
    first = wait_for(
        client,
        client.batches.create(
            endpoint="/v1/chat/completions", input_file_id=file_id, completion_window="24h"
        ).id,
        {"completed"},
    )
    calls = len(fake.history)
    again = wait_for(
        client,
        client.batches.create(
            endpoint="/v1/chat/completions", input_file_id=file_id, completion_window="24h"
        ).id,
        {"completed"},
    )
    assert len(fake.history) == calls  # no judge call the second time
    assert again.request_counts is not None and (
        again.request_counts.total,
        again.request_counts.completed,
    ) == (2, 2)
    assert (
        again.usage is not None
        and first.usage is not None
        and again.usage.total_tokens == first.usage.total_tokens
    )
    a = {
        json.loads(x)["custom_id"]: json.loads(x)
        for x in client.files.content(first.output_file_id).text.splitlines()
    }
    b = {
        json.loads(x)["custom_id"]: json.loads(x)
        for x in client.files.content(again.output_file_id).text.splitlines()
    }
    assert a.keys() == b.keys()
    for key in a:
        assert a[key]["response"]["body"]["judgment"] == b[key]["response"]["body"]["judgment"]
        assert a[key]["response"]["body"]["id"] != b[key]["response"]["body"]["id"]
