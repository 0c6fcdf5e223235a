#!/usr/bin/env python3
"""Eval runs' throughput (issue 19), two figures:

1. ``cpu``: 10,000 jsonl rows graded with ``string_check`` + ``text_similarity`` (fuzzy_match) through the
   row path the runner uses (``service.evals.rows.RowGrader``: schema check, templates, graders, output
   item), in one process: rows/s and CPU µs per row. Goal ≥ 5,000 rows/s. Then the same 10,000 rows as a
   run of ``jurist serve`` (SQLite), end to end: create → completed.
2. ``model``: 2,000 rows graded by a ``score_model`` grader against the stub upstream answering after
   ``--delay-ms`` (200), ``max_concurrency`` 32 per worker, judge cache off: the run's time against the
   upstream-bound ideal (rows × delay / (32 × workers)). With ``--database-url``: ``jurist serve`` takes no
   lines and ``--workers`` ``jurist worker`` processes share the PostgreSQL database.

    PYTHONPATH=src .venv/bin/python bench/evals_runs.py cpu [-n 10000]
    PYTHONPATH=src .venv/bin/python bench/evals_runs.py model [-n 2000] [--database-url URL --workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, cast

from openai import OpenAI

from jurist.service.evals.grading import Grader
from jurist.service.evals.rows import RowGrader

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-bench-evals-0123456789"
WORDS = [
    "the",
    "a",
    "capital",
    "of",
    "France",
    "is",
    "Paris",
    "Lyon",
    "city",
    "river",
    "Seine",
    "north",
    "south",
    "large",
    "small",
    "old",
    "new",
]
CRITERIA: list[Any] = [
    {"type": "string_check", "name": "exact", "input": "{{ sample.output_text }}",
     "reference": "{{ item.answer }}", "operation": "eq"},
    {"type": "text_similarity", "name": "close", "input": "{{ sample.output_text }}",
     "reference": "{{ item.answer }}", "evaluation_metric": "fuzzy_match", "pass_threshold": 0.8},
]  # fmt: skip
SCHEMA = {"type": "object", "properties": {"question": {"type": "string"}, "answer": {"type": "string"}}}


def rows(n: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        answer = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 20)))
        said = (
            answer if rng.random() < 0.3 else " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 20)))
        )
        out.append(
            {"item": {"question": f"Question {i}?", "answer": answer}, "sample": {"output_text": said}}
        )
    return out


async def grade_in_process(data: list[dict[str, Any]]) -> tuple[float, float]:
    eval_body: dict[str, Any] = {
        "testing_criteria": CRITERIA,
        "data_source_config": {
            "type": "custom",
            "schema": {"type": "object", "properties": {"item": SCHEMA}},
        },
    }
    grader = RowGrader(Grader(cast(Any, None), "bench"), eval_body, {"type": "jsonl"})
    await grader.grade("bench", "run", 0, data[0], 0)  # warm: imports, compiled templates
    wall, cpu = time.perf_counter(), time.process_time()
    for i, row in enumerate(data):
        await grader.grade("bench", "run", i, row, 0)
    return time.perf_counter() - wall, time.process_time() - cpu


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(port: int) -> None:
    import urllib.request

    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("jurist serve did not start")


def timed_run(client: OpenAI, criteria: list[Any], data: list[dict[str, Any]]) -> tuple[float, float]:
    """Seconds from create to ``completed``, and from ``in_progress`` (its rows queued) to ``completed``."""
    made = client.evals.create(
        data_source_config={"type": "custom", "item_schema": SCHEMA, "include_sample_schema": True},
        testing_criteria=criteria,
    )
    began = time.perf_counter()
    run = client.evals.runs.create(
        made.id, data_source={"type": "jsonl", "source": {"type": "file_content", "content": data}}
    )
    started = None
    while (found := client.evals.runs.retrieve(run.id, eval_id=made.id)).status not in (
        "completed",
        "failed",
    ):
        if started is None and found.status == "in_progress":
            started = time.perf_counter()
        time.sleep(0.05)
    done = time.perf_counter()
    assert found.status == "completed" and found.result_counts.total == len(data), found
    return done - began, done - (started or began)


def servers(a: argparse.Namespace, delay_ms: int) -> tuple[list[subprocess.Popen[bytes]], int]:
    data = Path(tempfile.mkdtemp(prefix="jurist-bench-evals-"))
    stub_port, port = free_port(), free_port()
    procs = [subprocess.Popen([sys.executable, "-P", str(ROOT / "tests/support/stub_upstream.py"), "--port",
                               str(stub_port), "--delay-ms", str(delay_ms)])]  # fmt: skip
    config = data / "jurist.toml"
    config.write_text(
        f'[models.pai-judge]\nbackend = "openai"\nbase_url = "http://127.0.0.1:{stub_port}/v1"\n'
        "max_concurrency = 32\n"
    )
    env = {**os.environ, "JURIST_DATA_DIR": str(data), "JURIST_API_KEYS": KEY, "JURIST_CACHE": "false",
           "JURIST_CONFIG": str(config), "JURIST_LOG_LEVEL": "warning", "JURIST_MAX_REQUEST_BYTES": str(64 << 20),
           "JURIST_MAX_FILE_BYTES": str(256 << 20), "JURIST_WORKER_POLL_SECONDS": "0.05"}  # fmt: skip
    if a.database_url:
        env |= {"JURIST_DATABASE_URL": a.database_url, "JURIST_RUN_WORKER": "false"}
    jurist = str(ROOT / ".venv/bin/jurist")
    procs.append(subprocess.Popen([jurist, "serve", "--port", str(port)], env=env))
    if a.database_url:
        procs += [subprocess.Popen([jurist, "worker"], env=env) for _ in range(a.workers)]
    wait_http(port)
    return procs, port


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["cpu", "model"])
    p.add_argument("-n", type=int, default=None)
    p.add_argument("--delay-ms", type=int, default=200)
    p.add_argument("--database-url", default=None)
    p.add_argument("--workers", type=int, default=1)
    a = p.parse_args()
    warnings.filterwarnings("ignore", "The Evals API is deprecated", DeprecationWarning)
    n = a.n or (10_000 if a.what == "cpu" else 2_000)
    data = rows(n)
    if a.what == "cpu":
        wall, cpu = asyncio.run(grade_in_process(data))
        print(
            f"in process: {n} rows in {wall:.2f} s: {n / wall:,.0f} rows/s, {cpu / n * 1e6:.0f} µs CPU per row"
        )
    procs, port = servers(a, a.delay_ms)
    try:
        with OpenAI(
            api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=2, timeout=600
        ) as client:
            if a.what == "cpu":
                took, running = timed_run(client, CRITERIA, data)
                print(f"jurist serve (SQLite): {n} rows, create → completed {took:.2f} s ({n / took:,.0f} rows/s); "
                      f"in_progress → completed {running:.2f} s ({n / running:,.0f} rows/s)")  # fmt: skip
                return
            grader = {"type": "score_model", "name": "judge", "model": "pai-judge", "pass_threshold": 0.5,
                      "input": [{"role": "user", "content": "Rate {{sample.output_text}} for {{item.question}}"}]}  # fmt: skip
            took, running = timed_run(client, [grader], data)
            lanes = 32 * (a.workers if a.database_url else 1)
            ideal = n * a.delay_ms / 1000 / lanes
            where = f"PostgreSQL, {a.workers} worker(s)" if a.database_url else "SQLite, the server's worker"
            print(f"{where}: {n} rows; ideal {ideal:.2f} s ({lanes} calls at a time); in_progress → completed "
                  f"{running:.2f} s ({ideal / running:.2f} of ideal); create → completed {took:.2f} s "
                  f"({ideal / took:.2f} of ideal)")  # fmt: skip
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)


if __name__ == "__main__":
    main()
