"""Deterministic, cached judging: temperature 0 + same model + same input → the same verdict from the store."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from jurist.backends.fake import FakeBackend
from tests.support.batches import SEED_INPUT, upload, wait_for
from tests.support.http import Server
from tests.support.inprocess import InProcessServer
from tests.support.live import live_server
from tests.support.services import API_KEY, FAKE_MODELS, METRICS_AUTH
from tests.support.verdicts import single_verdict_json

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def ask(server: Server, **extra: Any) -> Any:
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
    return server.request("POST", server.base_url + "/chat/completions", json.dumps(body), AUTH)


def test_repeated_requests_are_served_from_the_cache(app: InProcessServer, fake: FakeBackend) -> None:
    fake.enqueue(single_verdict_json(4), single_verdict_json(1), single_verdict_json(2))
    first, second = ask(app), ask(app)
    assert first.headers["x-jurist-cache"] == "miss" and second.headers["x-jurist-cache"] == "hit"
    assert len(fake.history) == 1
    a, b = first.json(), second.json()
    assert a["choices"] == b["choices"] and a["judgment"] == b["judgment"] and a["id"] != b["id"]
    bypass = ask(app, cache=False)
    assert "x-jurist-cache" not in bypass.headers and bypass.json()["judgment"]["overall_score"] == 1
    sampled = ask(app, temperature=0.7)
    assert "x-jurist-cache" not in sampled.headers and len(fake.history) == 3
    assert "cache" not in fake.history[-1].extra  # Jurist's switch is never forwarded
    text = app.request(
        "GET", app.base_url.removesuffix("/v1") + "/metrics", headers=METRICS_AUTH
    ).body.decode()
    assert (
        'jurist_judge_cache_total{result="hit"} 1.0' in text
        and 'jurist_judge_cache_total{result="miss"} 1.0' in text
    )


def test_unscored_verdicts_are_not_cached(app: InProcessServer, fake: FakeBackend) -> None:
    fake.enqueue("no verdict", "still none", single_verdict_json(3))
    assert ask(app).json()["judgment"]["scored"] is False
    assert ask(app).json()["judgment"]["overall_score"] == 3


def test_a_repeated_batch_is_answered_from_the_cache_at_validation(
    client: Any, fake: FakeBackend, tmp_path: Any
) -> None:
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


def _line(custom_id: str, answer: str) -> str:
    item = {"mode": "single", "type": "json", "json": {"question": "2+2?", "answer": answer}}
    body = {"model": "pai-judge", "messages": [{"role": "user", "content": [item]}]}
    return json.dumps({"custom_id": custom_id, "body": body})


@pytest.mark.parametrize("storage", ["disk", "database"])
def test_cache_answers_merge_with_executed_lines_in_input_order(tmp_path: Any, storage: str) -> None:
    """Cached lines never become rows (they go to a spool blob); the output is still in input order,
    each custom_id once, with the right counts, and the spool is gone afterwards."""
    fake = FakeBackend(default=single_verdict_json(3))
    backends = {"pai-judge": fake, "pai-judge-plus": fake}
    with live_server(tmp_path, models=FAKE_MODELS, backends=backends, file_storage=storage) as srv:
        client = srv.sdk()
        warm = [_line(f"w{i}", f"answer {i}") for i in (2, 4, 5)]
        wait_for(client, client.batches.create(endpoint="/v1/chat/completions",
                 input_file_id=upload(client, tmp_path, "\n".join(warm) + "\n", "warm.jsonl"),
                 completion_window="24h").id, {"completed"})  # fmt: skip
        calls = len(fake.history)
        lines = [_line(f"r{i}", f"answer {i}") for i in range(1, 8)]  # 2, 4, 5 are cached
        batch = wait_for(client, client.batches.create(endpoint="/v1/chat/completions",
                         input_file_id=upload(client, tmp_path, "\n".join(lines) + "\n"),
                         completion_window="24h").id, {"completed"})  # fmt: skip
        assert len(fake.history) - calls == 4  # only the four new lines were judged
        assert batch.request_counts is not None
        assert (batch.request_counts.total, batch.request_counts.completed) == (7, 7)
        assert batch.usage is not None and batch.usage.input_tokens == 70  # 10 per line, cached or not
        output = [json.loads(x) for x in client.files.content(batch.output_file_id).text.splitlines()]
        assert [o["custom_id"] for o in output] == [f"r{i}" for i in range(1, 8)]
        assert all(o["response"]["status_code"] == 200 and o["error"] is None for o in output)
        assert all(o["response"]["body"]["judgment"]["overall_score"] == 3 for o in output)
        assert len({o["id"] for o in output}) == 7 and len({o["response"]["request_id"] for o in output}) == 7
    data = tmp_path / "data"
    with sqlite3.connect(data / "jurist.db") as db:
        chunks = db.execute("SELECT COUNT(*) FROM file_chunks WHERE file_id LIKE 'spool-%'").fetchone()[0]
    assert chunks == 0 and not list(data.rglob("spool-*"))  # the spools are deleted after finalize
