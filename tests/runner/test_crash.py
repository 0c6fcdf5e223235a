"""Crash safety: kill -9 in the middle of a batch, restart, and every custom_id appears exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from openai import OpenAI

from tests.support.live import StubUpstream, free_socket
from tests.support.postgres import reset_postgres
from tests.support.services import API_KEY

LINES = 120


def _toml(stub: StubUpstream, path: Path) -> Path:
    path.write_text(
        f'[models.pai-judge]\nbackend = "openai"\nbase_url = "{stub.base_url}"\nmax_concurrency = 4\n'
    )
    return path


@contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-m", "jurist", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def wait_http(port: int) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def submit(client: OpenAI, tmp_path: Path) -> str:
    body = {"model": "pai-judge", "messages": [{"role": "user", "content": "Rate this."}]}
    path = tmp_path / "input.jsonl"
    path.write_text("".join(json.dumps({"custom_id": f"c{i}", "body": body}) + "\n" for i in range(LINES)))
    with path.open("rb") as fh:
        file_id = client.files.create(file=fh, purpose="batch").id
    return client.batches.create(
        endpoint="/v1/chat/completions", input_file_id=file_id, completion_window="24h"
    ).id


def progress(client: OpenAI, batch_id: str, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = client.batches.retrieve(batch_id).request_counts
        if counts is not None and counts.completed >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError("no progress")


def check_exactly_once(client: OpenAI, batch_id: str) -> None:
    deadline = time.monotonic() + 120
    while (batch := client.batches.retrieve(batch_id)).status != "completed":
        assert time.monotonic() < deadline, batch.status
        time.sleep(0.2)
    assert batch.request_counts is not None
    out = (
        [json.loads(x) for x in client.files.content(batch.output_file_id).text.splitlines()]
        if batch.output_file_id
        else []
    )
    err = (
        [json.loads(x) for x in client.files.content(batch.error_file_id).text.splitlines()]
        if batch.error_file_id
        else []
    )
    ids = [x["custom_id"] for x in out + err]
    assert sorted(ids) == sorted(f"c{i}" for i in range(LINES))  # each exactly once
    assert (batch.request_counts.completed, batch.request_counts.failed) == (len(out), len(err))
    assert batch.request_counts.total == LINES


def env_for(tmp_path: Path, stub: StubUpstream, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JURIST_")}
    env.update(JURIST_CONFIG=str(_toml(stub, tmp_path / "jurist.toml")), JURIST_DATA_DIR=str(tmp_path / "data"),
               JURIST_API_KEYS=API_KEY, JURIST_WORKER_LEASE_SECONDS="2", JURIST_WORKER_POLL_SECONDS="0.05",
               JURIST_LOG_LEVEL="warning", **extra)  # fmt: skip
    return env


@contextmanager
def client_on_a_free_port() -> Iterator[tuple[int, OpenAI]]:
    """A free port for the server to start on, and an SDK client (with retries) for it."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    with OpenAI(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=2) as client:
        yield port, client


def test_kill_9_the_server_mid_batch_on_sqlite(tmp_path: Path) -> None:
    with StubUpstream("--delay-ms", "40") as stub, client_on_a_free_port() as (port, client):
        env = env_for(tmp_path, stub)
        with process(["serve", "--port", str(port)], env) as first:
            wait_http(port)
            batch_id = submit(client, tmp_path)
            progress(client, batch_id, 20)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        with process(["serve", "--port", str(port)], env):
            wait_http(port)
            check_exactly_once(client, batch_id)


def test_kill_9_one_of_two_workers_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    reset_postgres(postgres_url)
    with StubUpstream("--delay-ms", "40") as stub, client_on_a_free_port() as (port, client):
        env = env_for(tmp_path, stub, JURIST_DATABASE_URL=postgres_url, JURIST_RUN_WORKER="false")
        with process(["serve", "--port", str(port)], env):
            wait_http(port)
            with process(["worker"], env) as doomed, process(["worker"], env):
                batch_id = submit(client, tmp_path)
                progress(client, batch_id, 20)
                doomed.send_signal(signal.SIGKILL)
                doomed.wait(timeout=10)
                check_exactly_once(client, batch_id)
