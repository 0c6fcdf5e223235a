"""The issue's fairness case, through the API with the in-process worker: tenant B's 5-line batch,
submitted a second after tenant A's 3,000-line batch, finishes while A's is still running, in about
the time it takes alone."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.support.http import Server, multipart
from tests.support.inprocess import in_process_server
from tests.support.services import FAKE_MODELS
from tests.support.slow_backend import SlowBackend
from tests.support.verdicts import single_verdict_json

KEY_A, KEY_B = "sk-tenant-a-0123456789", "sk-tenant-b-0123456789"


def lines(n: int, tag: str) -> str:
    return "".join(
        json.dumps({"custom_id": f"{tag}{i}", "body": {"model": "pai-judge", "messages": [
            {"role": "user", "content": f"Rate answer {tag} {i}."}]}}) + "\n"
        for i in range(n)
    )  # fmt: skip


def submit(server: Server, key: str, text: str) -> str:
    auth = {"Authorization": f"Bearer {key}"}
    body, ctype = multipart({"purpose": "batch"}, ("in.jsonl", text.encode()))
    resp = server.request("POST", server.base_url + "/files", body, {**auth, "Content-Type": ctype})
    assert resp.status == 200, resp.body
    create = {"input_file_id": resp.json()["id"], "endpoint": "/v1/chat/completions",
              "completion_window": "24h"}  # fmt: skip
    resp = server.request("POST", server.base_url + "/batches", json.dumps(create), auth)
    assert resp.status == 200, resp.body
    batch_id: str = resp.json()["id"]
    return batch_id


def status(server: Server, key: str, batch_id: str) -> dict[str, object]:
    resp = server.request("GET", f"{server.base_url}/batches/{batch_id}",
                          headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    assert resp.status == 200, resp.body
    batch: dict[str, object] = resp.json()
    return batch


def time_to_complete(server: Server, key: str, text: str) -> float:
    """Seconds from submitting a batch of ``text`` to seeing it completed."""
    t0 = time.monotonic()
    batch_id = submit(server, key, text)
    while status(server, key, batch_id)["status"] != "completed":
        assert time.monotonic() - t0 < 30, "the batch did not complete"
        time.sleep(0.02)
    return time.monotonic() - t0


def test_a_small_batch_is_not_stuck_behind_another_tenants_large_one(tmp_path: Path) -> None:
    slow = SlowBackend(0.02, single_verdict_json(3))
    models = {name: {**cfg, "max_concurrency": 8} for name, cfg in FAKE_MODELS.items()}
    with in_process_server(tmp_path, models=models, backends={"pai-judge": slow, "pai-judge-plus": slow},
                           api_keys=[KEY_A, KEY_B], cache=False, worker_poll_seconds=0.05) as server:  # fmt: skip
        alone = time_to_complete(server, KEY_B, lines(5, "solo"))
        big = submit(server, KEY_A, lines(3000, "a"))
        time.sleep(1)
        behind = time_to_complete(server, KEY_B, lines(5, "b"))
        a = status(server, KEY_A, big)
        counts = a["request_counts"]
        assert isinstance(counts, dict)
        # B did not wait for A: A is still running, most of it left
        assert a["status"] == "in_progress" and counts["completed"] < 2000, a
    assert behind < 5 and behind < 2 * alone + 0.5, (behind, alone)
