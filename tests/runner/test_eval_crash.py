"""Eval runs are batch-runner work: kill -9 mid-run, restart, and every row has exactly one output item
(on SQLite, and on PostgreSQL with one of two workers killed); a cancel stops a run at once and keeps
what was graded."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from openai import OpenAI

from tests.support.live import StubUpstream
from tests.support.nodes import client_on_a_free_port, env_for, process, wait_http
from tests.support.postgres import reset_postgres

ROWS = 80


def start_run(client: OpenAI, rows: int = ROWS) -> tuple[str, str]:
    made = client.evals.create(
        data_source_config={"type": "custom", "item_schema": {"type": "object"}},
        testing_criteria=[
            {
                "type": "string_check",
                "name": "answered",
                "input": "{{sample.output_text}}",
                "reference": "",
                "operation": "like",
            }
        ],
    )
    source: Any = {
        "type": "completions", "model": "pai-judge", "sampling_params": {"temperature": 0.5},
        "input_messages": {"type": "template", "template": [{"role": "user", "content": "Say {{item.n}}."}]},
        "source": {"type": "file_content", "content": [{"item": {"n": i}} for i in range(rows)]},
    }  # fmt: skip
    run = client.evals.runs.create(made.id, data_source=source)
    return made.id, run.id


def graded(client: OpenAI, eval_id: str, run_id: str) -> int:
    return client.evals.runs.retrieve(run_id, eval_id=eval_id).result_counts.total


def wait_graded(client: OpenAI, eval_id: str, run_id: str, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while graded(client, eval_id, run_id) < at_least:
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.05)


def check_each_row_once(
    client: OpenAI, eval_id: str, run_id: str, rows: int = ROWS, timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while (run := client.evals.runs.retrieve(run_id, eval_id=eval_id)).status != "completed":
        assert time.monotonic() < deadline, run.status
        time.sleep(0.2)
    items = list(client.evals.runs.output_items.list(run_id, eval_id=eval_id, limit=100))
    assert sorted(i.datasource_item_id for i in items) == list(range(rows))  # each row exactly once
    assert run.result_counts.total == rows and run.result_counts.passed == rows
    assert all(i.datasource_item == {"n": i.datasource_item_id} for i in items)


def test_kill_9_the_server_mid_run_on_sqlite(tmp_path: Path) -> None:
    with StubUpstream("--delay-ms", "40") as stub, client_on_a_free_port() as (port, client):
        env = env_for(tmp_path, stub)
        with process(["serve", "--port", str(port)], env) as first:
            wait_http(port)
            eval_id, run_id = start_run(client)
            wait_graded(client, eval_id, run_id, 15)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        with process(["serve", "--port", str(port)], env):
            wait_http(port)
            check_each_row_once(client, eval_id, run_id)


def test_kill_9_one_of_two_workers_mid_run_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    reset_postgres(postgres_url)
    with StubUpstream("--delay-ms", "40") as stub, client_on_a_free_port() as (port, client):
        env = env_for(tmp_path, stub, JURIST_DATABASE_URL=postgres_url, JURIST_RUN_WORKER="false")
        with process(["serve", "--port", str(port)], env):
            wait_http(port)
            with process(["worker"], env) as doomed, process(["worker"], env):
                eval_id, run_id = start_run(client)
                wait_graded(client, eval_id, run_id, 15)
                doomed.send_signal(signal.SIGKILL)
                doomed.wait(timeout=10)
                check_each_row_once(client, eval_id, run_id)


def test_a_cancel_stops_the_run_within_a_second_and_keeps_what_was_graded(tmp_path: Path) -> None:
    with StubUpstream("--delay-ms", "200") as stub, client_on_a_free_port() as (port, client):
        env = env_for(tmp_path, stub, concurrency=2)
        with process(["serve", "--port", str(port)], env):
            wait_http(port)
            eval_id, run_id = start_run(client, rows=200)
            wait_graded(client, eval_id, run_id, 4)
            began = time.monotonic()
            canceled = client.evals.runs.cancel(run_id, eval_id=eval_id)
            assert canceled.status == "canceled" and time.monotonic() - began < 1.0
            time.sleep(1.0)  # the rows in flight at the cancel may still finish; nothing after them
            kept = graded(client, eval_id, run_id)
            time.sleep(1.5)
            assert graded(client, eval_id, run_id) == kept and 4 <= kept < 20
            items = list(client.evals.runs.output_items.list(run_id, eval_id=eval_id, limit=100))
            assert len(items) == kept and all(i.status == "pass" for i in items)
