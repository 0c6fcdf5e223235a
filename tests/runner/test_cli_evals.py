"""``jurist evals run EVAL.yaml`` as real processes: locally (a worker in the command's own process) and
against ``jurist serve`` (``--server``); interrupted (Ctrl-C, then kill -9) and run again, the same run
goes on and every row is graded exactly once; bad YAML and a refused eval exit 2, saying why."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.live import StubUpstream
from tests.support.nodes import client_on_a_free_port, env_for, process, wait_http
from tests.support.services import API_KEY

EXAMPLE = Path(__file__).parents[1] / "data" / "evals"
SUMMARY = "4 rows graded: 1 passed, 2 failed, 1 errored; pass rate 25.0%"


@pytest.fixture(scope="module")
def stub() -> Iterator[StubUpstream]:
    with StubUpstream() as upstream:
        yield upstream


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The example eval (tests/data/evals/qa.yaml, its rows in qa.jsonl), copied: the state goes beside it."""
    for name in ("qa.yaml", "qa.jsonl"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    return tmp_path / "qa.yaml"


def evals_run(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "jurist", "evals", "run", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


def read_items(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def check_example_items(items: list[dict[str, Any]]) -> None:
    assert [i["datasource_item_id"] for i in items] == [0, 1, 2, 3]  # one item per row
    assert [i["status"] for i in items] == ["pass", "fail", "fail", "error"]
    assert [(r["name"], r["passed"]) for r in items[1]["results"]] == [("exact", False), ("close", True)]
    assert "item_schema" in items[3]["sample"]["error"]["message"]
    assert len({i["run_id"] for i in items}) == 1


def test_a_local_run_grades_every_row_prints_the_summary_and_writes_the_items(
    tmp_path: Path, stub: StubUpstream, example: Path
) -> None:
    env = env_for(tmp_path, stub)
    done = evals_run(str(example), "--out", str(tmp_path / "out.jsonl"), env=env)
    assert done.returncode == 0, done.stderr
    assert SUMMARY in done.stdout
    assert "exact" in done.stdout and "close" in done.stdout and "33.3%" in done.stdout
    assert "started run evalrun_" in done.stderr
    items = read_items(tmp_path / "out.jsonl")
    check_example_items(items)
    # the same file again: that run completed, so it is reported again, not graded again
    again = evals_run(str(example), "--out", str(tmp_path / "again.jsonl"), env=env)
    assert again.returncode == 0, again.stderr
    assert "completed already" in again.stderr and SUMMARY in again.stdout
    assert read_items(tmp_path / "again.jsonl") == items


def slow_eval(tmp_path: Path, rows: int) -> Path:
    """An eval whose run samples the model for each row (the stub answers slowly)."""
    spec = {
        "eval": {
            "name": "slow",
            "data_source_config": {"type": "custom", "item_schema": {"type": "object"}},
            "testing_criteria": [{"type": "string_check", "name": "answered", "input": "{{sample.output_text}}",
                                  "reference": "", "operation": "like"}],
        },
        "run": {
            "data_source": {
                "type": "completions", "model": "pai-judge", "sampling_params": {"temperature": 0.5},
                "input_messages": {"type": "template", "template": [{"role": "user", "content": "Say {{item.n}}."}]},
                "source": {"type": "file_content", "content": [{"item": {"n": i}} for i in range(rows)]},
            }
        },
    }  # fmt: skip
    path = tmp_path / "slow.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def graded(tmp_path: Path) -> int:
    """Output items in the data dir's database (0 before its tables are made)."""
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / "jurist.db", timeout=5)) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM eval_output_items").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def wait_graded(tmp_path: Path, proc: subprocess.Popen[bytes], at_least: int) -> int:
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, "the run ended before it was interrupted"
        assert time.monotonic() < deadline, "no progress"
        if (tmp_path / "data" / "jurist.db").exists() and (n := graded(tmp_path)) >= at_least:
            return n
        time.sleep(0.05)


def test_an_interrupted_local_run_resumes_and_grades_each_row_once(tmp_path: Path) -> None:
    rows = 24
    path = slow_eval(tmp_path, rows)
    with StubUpstream("--delay-ms", "200") as slow:
        env = env_for(tmp_path, slow, concurrency=2)
        args = [str(path), "--out", str(tmp_path / "out.jsonl")]
        # Ctrl-C: the rows in flight finish, the rest wait in the data dir
        with process(["evals", "run", *args], env, stderr=subprocess.PIPE) as first:
            wait_graded(tmp_path, first, 3)
            first.send_signal(signal.SIGINT)
            _, stderr = first.communicate(timeout=30)
        assert first.returncode == 130, stderr
        assert b"run the same command again to resume" in stderr
        state = json.loads((tmp_path / ".slow.yaml.jurist.json").read_text())
        run_id = next(v for v in state.values() if v.startswith("evalrun_"))
        # again, then kill -9 mid-run: its leases expire (2 s here) and the next one takes the rows
        with process(["evals", "run", *args], env) as second:
            before = graded(tmp_path)
            wait_graded(tmp_path, second, before + 3)
            second.send_signal(signal.SIGKILL)
            second.wait(timeout=10)
        assert graded(tmp_path) < rows
        last = evals_run(*args, env=env)
    assert last.returncode == 0, last.stderr
    assert f"resuming run {run_id}" in last.stderr
    assert f"{rows} rows graded: {rows} passed, 0 failed, 0 errored" in last.stdout
    items = read_items(tmp_path / "out.jsonl")
    assert sorted(i["datasource_item_id"] for i in items) == list(range(rows))  # each row exactly once
    assert {i["run_id"] for i in items} == {run_id}
    assert graded(tmp_path) == rows


def test_a_run_on_a_server(tmp_path: Path, stub: StubUpstream, example: Path) -> None:
    env = env_for(tmp_path, stub)
    with client_on_a_free_port() as (port, client), process(["serve", "--port", str(port)], env):
        wait_http(port)
        server = ["--server", f"http://127.0.0.1:{port}", "--key", API_KEY]
        done = evals_run(str(example), *server, "--out", str(tmp_path / "out.jsonl"), env=env)
        assert done.returncode == 0, done.stderr
        assert SUMMARY in done.stdout
        items = read_items(tmp_path / "out.jsonl")
        check_example_items(items)
        run = client.evals.runs.retrieve(items[0]["run_id"], eval_id=items[0]["eval_id"])
        assert run.status == "completed" and run.name == "baseline"
        assert run.data_source.source.type == "file_id"  # type: ignore[union-attr]
        assert client.evals.retrieve(run.eval_id).name == "qa"
        # --new: another run of the same eval
        other = evals_run(str(example), *server, "--new", "--out", str(tmp_path / "new.jsonl"), env=env)
        assert other.returncode == 0, other.stderr
        fresh = read_items(tmp_path / "new.jsonl")
        assert fresh[0]["run_id"] != run.id and fresh[0]["eval_id"] == run.eval_id
        assert [r.id for r in client.evals.runs.list(run.eval_id)] == [run.id, fresh[0]["run_id"]]


def test_bad_yaml_and_a_refused_eval_exit_2_saying_why(tmp_path: Path, stub: StubUpstream) -> None:
    env = env_for(tmp_path, stub)
    bad = tmp_path / "bad.yaml"
    bad.write_text("eval: {name: [unclosed\n")
    result = evals_run(str(bad), env=env)
    assert result.returncode == 2 and "is not valid YAML" in result.stderr
    bad.write_text("eval: {}\nrun: {data_source: {type: jsonl, source: {path: missing.jsonl}}}\n")
    result = evals_run(str(bad), env=env)
    assert result.returncode == 2 and "missing.jsonl" in result.stderr
    spec = {
        "eval": {"data_source_config": {"type": "custom", "item_schema": {"type": "object"}},
                 "testing_criteria": [{"type": "regex", "name": "x"}]},
        "run": {"data_source": {"type": "jsonl", "source": {"type": "file_content", "content": [{"item": {}}]}}},
    }  # fmt: skip
    bad.write_text(yaml.safe_dump(spec))
    result = evals_run(str(bad), env=env)
    assert result.returncode == 2, result.stderr
    assert "param: testing_criteria[0].type" in result.stderr
