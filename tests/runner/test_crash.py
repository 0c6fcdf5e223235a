"""Crash safety: kill -9 in the middle of a batch, restart, and every custom_id appears exactly once."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.support.live import StubUpstream
from tests.support.nodes import (
    check_exactly_once,
    client_on_a_free_port,
    env_for,
    process,
    progress,
    submit,
    wait_http,
)
from tests.support.postgres import reset_postgres

LINES = 120


def test_kill_9_the_server_mid_batch_on_sqlite(tmp_path: Path) -> None:
    with StubUpstream("--delay-ms", "40") as stub, client_on_a_free_port() as (port, client):
        env = env_for(tmp_path, stub)
        with process(["serve", "--port", str(port)], env) as first:
            wait_http(port)
            batch_id = submit(client, tmp_path, LINES)
            progress(client, batch_id, 20)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        with process(["serve", "--port", str(port)], env):
            wait_http(port)
            check_exactly_once(client, batch_id, LINES)


def test_kill_9_one_of_two_workers_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    reset_postgres(postgres_url)
    with StubUpstream("--delay-ms", "40") as stub, client_on_a_free_port() as (port, client):
        env = env_for(tmp_path, stub, JURIST_DATABASE_URL=postgres_url, JURIST_RUN_WORKER="false")
        with process(["serve", "--port", str(port)], env):
            wait_http(port)
            with process(["worker"], env) as doomed, process(["worker"], env):
                batch_id = submit(client, tmp_path, LINES)
                progress(client, batch_id, 20)
                doomed.send_signal(signal.SIGKILL)
                doomed.wait(timeout=10)
                check_exactly_once(client, batch_id, LINES)
