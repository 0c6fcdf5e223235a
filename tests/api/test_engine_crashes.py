"""A crash of the embedded model never takes ``jurist`` down (real HTTP, real signals to the model's own
process): the request in flight gets a 503 ``model_unavailable`` with ``Retry-After``, a stream too, a
batch's lines in flight go back to the queue without spending an attempt, the next request is judged
after the restart, and /v1/models, /metrics and the console's models page show what happened. A model
that keeps crashing is failed, and every other model keeps answering."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from jurist.backends.base import SupervisedBackend
from jurist.backends.fake import FakeBackend
from jurist.backends.llama_process import EmbeddedModelProcess
from tests.support.batches import AUTH, create_batch_raw, upload_raw, wait_for_raw
from tests.support.console import chromium, origin, screenshot, sign_in
from tests.support.live import LiveServer, live_server
from tests.support.services import API_KEY, METRICS_AUTH

pytestmark = pytest.mark.embedded

QUESTION = "Which answer explains the tides better? " + "Consider the moon, the sun and the oceans. " * 20
BACKEND = "embedded llama.cpp model gemma-3-270m-q4_k_m.gguf"


def pair(question: str = QUESTION) -> dict[str, Any]:
    item = {
        "question": question,
        "answer1": "The moon's gravity.",
        "answer2": "The wind.",
        "criteria": ["Accuracy"],
    }
    return {"model": "pai-judge", "messages": [{"role": "user", "content": [{"mode": "pairwise", "type": "json", "json": item}]}]}  # fmt: skip


def engine(server: LiveServer) -> SupervisedBackend:
    return next(b for b in server.services.backends if isinstance(b, SupervisedBackend))


def kill(server: LiveServer, signum: int) -> int:
    pid = engine(server).health().pid
    assert pid is not None
    os.kill(pid, signum)
    return pid


def post(server: LiveServer, body: dict[str, Any], path: str = "/chat/completions") -> Any:
    return server.request("POST", server.base_url + path, json.dumps(body), AUTH)


def wait_ready(server: LiveServer, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while engine(server).health().state != "ready":
        assert time.monotonic() < deadline, engine(server).health()
        time.sleep(0.05)


def killed_while(server: LiveServer, body: dict[str, Any], signum: int) -> Any:
    """``body`` posted, and the model process killed once it holds the request (whatever the CPU's speed)."""
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(post, server, body)
        model = engine(server)
        assert isinstance(model, EmbeddedModelProcess)
        deadline = time.monotonic() + 60
        while model.in_flight == 0:
            assert time.monotonic() < deadline and not answer.done()
            time.sleep(0.002)
        kill(server, signum)
        return answer.result(timeout=60)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("crashes")
    # one attempt per batch line: a line whose attempt were spent by the crash would fail; the tests
    # here kill the model more often than a crash loop's 3 a minute
    models = {"pai-judge": {"backend": "llama_cpp", "max_crashes": 20}}
    with live_server(data, models=models, max_attempts=1, retry_base_seconds=0.1) as srv:
        yield srv


def test_a_sigsegv_mid_request_is_a_503_and_the_next_request_is_judged(server: LiveServer) -> None:
    failed = killed_while(server, pair(), signal.SIGSEGV)
    assert failed.status == 503, failed.body
    error = failed.json()["error"]
    assert error["code"] == "model_unavailable" and error["type"] == "server_error"
    assert "SIGSEGV" in error["message"] and set(error) == {"message", "type", "param", "code"}
    assert int(failed.headers["retry-after"]) >= 1
    judged = server.sdk().chat.completions.create(**pair())  # waits for the restart
    assert judged.judgment["scored"] is True  # type: ignore[attr-defined]
    card = server.request("GET", server.base_url + "/models/pai-judge", headers=AUTH).json()
    assert card["status"]["state"] == "ready" and card["status"]["restarts"] == {"SIGSEGV": 1}
    metrics_url = server.base_url.removesuffix("/v1") + "/metrics"
    metrics = server.request("GET", metrics_url, headers=METRICS_AUTH).body.decode()
    assert f'jurist_engine_restarts_total{{backend="{BACKEND}",cause="SIGSEGV"}} 1.0' in metrics
    assert f'jurist_engine_state{{backend="{BACKEND}",state="ready"}} 1.0' in metrics
    assert "jurist_engine_last_restart_seconds{" in metrics


def test_streams_in_flight_get_a_503_or_an_error_event_never_a_dropped_connection(server: LiveServer) -> None:
    wait_ready(server)
    # a judge item's verdict is whole before its first chunk: the status is still the 503
    judged = killed_while(server, {**pair(), "stream": True}, signal.SIGKILL)
    assert judged.status == 503 and judged.json()["error"]["code"] == "model_unavailable"
    assert "retry-after" in judged.headers
    wait_ready(server)
    # a custom template streams tokens as they come: killed after the first, the error is an SSE event
    story = {
        "model": "pai-judge",
        "messages": [{"role": "user", "content": "Tell a very long story about the sea."}],
        "max_tokens": 400,
        "stream": True,
    }
    stream = server.sdk().chat.completions.create(**story)
    events = iter(stream.response.iter_lines())
    seen = []
    for line in events:
        seen.append(line)
        if line.startswith("data: {") and '"content":"' in line and '"content":""' not in line:
            break
    kill(server, signal.SIGKILL)
    rest = list(events)
    errors = [json.loads(x[6:]) for x in rest if x.startswith("data: {") and '"error"' in x]
    assert errors and errors[0]["error"]["code"] == "model_unavailable", rest
    assert rest[-1] == "data: [DONE]" or rest[-2:] == ["data: [DONE]", ""]
    wait_ready(server)


def test_batch_lines_in_flight_go_back_to_the_queue_without_spending_an_attempt(server: LiveServer) -> None:
    wait_ready(server)
    lines = "".join(
        json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": pair(f"Q{i}? " + QUESTION)}) + "\n"
        for i in range(6)
    )  # fmt: skip
    batch_id = create_batch_raw(server, upload_raw(server, lines))
    deadline = time.monotonic() + 120
    while True:  # kill it once the batch is under way (a line done, others in flight)
        batch = server.request("GET", f"{server.base_url}/batches/{batch_id}", headers=AUTH).json()
        if batch["request_counts"]["completed"] >= 1:
            break
        assert time.monotonic() < deadline, batch
        time.sleep(0.05)
    kill(server, signal.SIGKILL)
    done = wait_for_raw(server, batch_id, {"completed", "failed"}, timeout=300)
    assert done.status == "completed" and done.request_counts is not None
    assert done.request_counts.completed == 6 and done.request_counts.failed == 0  # max_attempts = 1
    assert done.output_file_id is not None and done.error_file_id is None
    content = server.request("GET", f"{server.base_url}/files/{done.output_file_id}/content", headers=AUTH)
    statuses = [json.loads(x)["response"]["status_code"] for x in content.body.decode().splitlines()]
    assert statuses == [200] * 6


@pytest.fixture
def failing(tmp_path: Path) -> Iterator[LiveServer]:
    """The embedded model fails at its first crash; ``other`` (a scripted remote judge) is unaffected."""
    models = {"pai-judge": {"backend": "llama_cpp", "max_crashes": 1}, "other": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1"}}  # fmt: skip
    other = FakeBackend(default='{"winner": "response_1"}')
    with live_server(tmp_path, models=models, backends={"other": other}) as srv:
        yield srv


def test_a_failed_model_is_shown_failed_and_every_other_model_keeps_answering(failing: LiveServer) -> None:
    kill(failing, signal.SIGABRT)  # abort(): what GGML_ASSERT ends in
    deadline = time.monotonic() + 30
    while engine(failing).health().state != "failed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    down = post(failing, pair())
    assert down.status == 503 and "SIGABRT" in down.json()["error"]["message"]
    custom = {"model": "other", "messages": [{"role": "user", "content": "hello"}]}
    assert post(failing, custom).status == 200
    card = failing.request("GET", failing.base_url + "/models/pai-judge", headers=AUTH).json()
    assert card["status"]["state"] == "failed" and "SIGABRT" in card["status"]["detail"]
    assert failing.request("GET", failing.base_url + "/models/other", headers=AUTH).json()["status"] == {
        "state": "ready", "detail": None, "restarts": {}, "extra_buffer_types": None,
    }  # fmt: skip
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, failing.base_url, API_KEY)
        page.goto(origin(failing.base_url) + "/console/models")
        expect(page.locator("#model-pai-judge .health")).to_have_text("failed")
        expect(page.locator("#model-pai-judge .engine")).to_contain_text("1 × SIGABRT")
        expect(page.locator("#model-other .health")).to_have_text("ready")
        screenshot(page, "models-engine-failed")
