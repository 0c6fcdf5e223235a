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
