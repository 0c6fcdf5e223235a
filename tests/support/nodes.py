"""Jurist as separate processes (``jurist serve``, ``jurist worker``) over one database, against the
stub upstream: start and stop them, submit a batch through the SDK, and check its results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from openai import OpenAI

from tests.support.live import StubUpstream, free_socket
from tests.support.services import API_KEY


def _toml(stub: StubUpstream, path: Path, concurrency: int) -> Path:
    path.write_text(
        f'[models.pai-judge]\nbackend = "openai"\nbase_url = "{stub.base_url}"\n'
        f"max_concurrency = {concurrency}\n"
    )
    return path


@contextmanager
def process(
    args: list[str], env: dict[str, str], stderr: IO[bytes] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m jurist ARGS``; killed on exit if still running. Its stderr goes to ``stderr``."""
    proc = subprocess.Popen([sys.executable, "-m", "jurist", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=stderr or subprocess.DEVNULL)  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def wait_http(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def submit(client: OpenAI, tmp_path: Path, lines: int) -> str:
    """A batch of ``lines`` distinct requests (the judge cache answers none of them from another),
    custom ids c0, c1, …; its id."""
    path = tmp_path / "input.jsonl"
    with path.open("w") as fh:
        for i in range(lines):
            body = {"model": "pai-judge", "messages": [{"role": "user", "content": f"Rate answer {i}."}]}
            fh.write(json.dumps({"custom_id": f"c{i}", "body": body}) + "\n")
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


def check_exactly_once(client: OpenAI, batch_id: str, lines: int, timeout: float = 120) -> None:
    """Wait for the batch to complete; every custom id is in its output or error file exactly once."""
    deadline = time.monotonic() + timeout
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
    assert sorted(ids) == sorted(f"c{i}" for i in range(lines))  # each exactly once
    assert (batch.request_counts.completed, batch.request_counts.failed) == (len(out), len(err))
    assert batch.request_counts.total == lines


def env_for(tmp_path: Path, stub: StubUpstream, concurrency: int = 4, **extra: str) -> dict[str, str]:
    """The environment of a node: a config whose ``pai-judge`` is the stub, a data dir, the test key,
    short leases and polls (``extra`` overrides, as JURIST_* variables)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JURIST_")}
    config = _toml(stub, tmp_path / "jurist.toml", concurrency)
    env.update(
        JURIST_CONFIG=str(config),
        JURIST_DATA_DIR=str(tmp_path / "data"),
        JURIST_API_KEYS=API_KEY,
        JURIST_WORKER_LEASE_SECONDS="2",
        JURIST_WORKER_POLL_SECONDS="0.05",
        JURIST_LOG_LEVEL="warning",
    )
    env.update(extra)  # fmt: skip
    return env


@contextmanager
def client_on_a_free_port() -> Iterator[tuple[int, OpenAI]]:
    """A free port for the server to start on, and an SDK client (with retries) for it."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    with OpenAI(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=2) as client:
        yield port, client
