"""The seed's batch input, and uploading a file, creating a batch and waiting for it: through the
official SDK, or as raw requests to any ``tests.support.http.Server`` (live or in process)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from openai import OpenAI
from openai.types import Batch

from tests.support.http import Server, multipart
from tests.support.services import API_KEY

SEED_INPUT = (
    '{"custom_id": "request-1", "body": {"model": "pai-judge", "messages": [{"role": "user", "content": [{"mode": "single", "type": "json", "json": {"question": "According to the first couplet, give the second couplet. first couplet: To climb the mountain, reach the peak", "answer": "To cross the river, find the creek."}}]}]}}\n'
    '{"custom_id": "request-2", "body": {"model": "pai-judge-plus", "messages": [{"role": "user", "content": [{"mode": "single", "type": "json", "json": {"question": "According to the first couplet, give the second couplet. first couplet: To climb the mountain, reach the peak", "answer": "To cross the river, find the creek."}}]}]}}\n'
)
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def wait_for(client: OpenAI, batch_id: str, statuses: set[str], timeout: float = 30) -> Batch:
    return _poll(lambda: client.batches.retrieve(batch_id), statuses, timeout)


def _poll(retrieve: Callable[[], Batch], statuses: set[str], timeout: float) -> Batch:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = retrieve()
        if batch.status in statuses:
            return batch
        time.sleep(0.1)
    raise AssertionError(f"batch {batch.id} stuck in {batch.status}")


def upload(client: OpenAI, tmp_path: Path, text: str, name: str = "input.jsonl") -> str:
    path = tmp_path / name
    path.write_text(text)
    with path.open("rb") as fh:
        return client.files.create(file=fh, purpose="batch").id


def upload_raw(server: Server, text: str, name: str = "input.jsonl") -> str:
    """``upload`` as one multipart request; the new file's id."""
    body, content_type = multipart({"purpose": "batch"}, (name, text.encode()))
    resp = server.request("POST", server.base_url + "/files", body, {**AUTH, "Content-Type": content_type})
    assert resp.status == 200, resp.body
    file_id: str = resp.json()["id"]
    return file_id


def create_batch_raw(server: Server, file_id: str) -> str:
    """A chat-completions batch over ``file_id``, 24h window; its id."""
    body = {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    resp = server.request("POST", server.base_url + "/batches", json.dumps(body), AUTH)
    assert resp.status == 200, resp.body
    batch_id: str = resp.json()["id"]
    return batch_id


def wait_for_raw(server: Server, batch_id: str, statuses: set[str], timeout: float = 30) -> Batch:
    """``wait_for`` by raw requests; the batch as the SDK's own type (so assertions read the same)."""

    def retrieve() -> Batch:
        resp = server.request("GET", f"{server.base_url}/batches/{batch_id}", headers=AUTH)
        assert resp.status == 200, resp.body
        return Batch.model_validate(resp.json())

    return _poll(retrieve, statuses, timeout)
