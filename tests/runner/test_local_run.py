"""jurist run: killed half-way and re-run, every custom_id ends up exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.live import StubUpstream

LINES = 60


def test_jurist_run_resumes_after_kill_9_without_redoing_lines(tmp_path: Path) -> None:
    def body_for(i: int) -> dict[str, object]:
        return {"model": "pai-judge", "messages": [{"role": "user", "content": f"Rate answer {i}."}]}

    bad = {
        "model": "pai-judge",
        "messages": [
            {"role": "user", "content": [{"mode": "single", "type": "json", "json": {"answer": "x"}}]}
        ],
    }
    source = tmp_path / "input.jsonl"
    source.write_text(
        "".join(
            json.dumps({"custom_id": f"c{i}", "body": bad if i == 7 else body_for(i)}) + "\n"
            for i in range(LINES)
        )
    )
    output, errors = tmp_path / "out.jsonl", tmp_path / "out.errors.jsonl"
    with StubUpstream("--delay-ms", "100") as stub:
        (tmp_path / "jurist.toml").write_text(
            f'[models.pai-judge]\nbackend = "openai"\nbase_url = "{stub.base_url}"\nmax_concurrency = 2\n'
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("JURIST_")}
        env.update(
            JURIST_CONFIG=str(tmp_path / "jurist.toml"),
            JURIST_DATA_DIR=str(tmp_path / "data"),
            JURIST_API_KEYS="k",
        )
        cmd = [sys.executable, "-m", "jurist", "run", str(source), "-o", str(output)]
        first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not output.exists() or len(output.read_text().splitlines()) < 10:
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        with output.open("ab") as fh:  # simulate a line torn by the crash
            fh.write(b'{"id": "batch_req_x", "custom_id": "c')
        partial = {json.loads(x)["custom_id"] for x in output.read_text().splitlines()[:-1]}
        assert 10 <= len(partial) < LINES
        failed_before = _ids(errors)
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        assert f"{len(partial) + len(failed_before)} already done" in second.stderr.replace("\n", " ")
    done = [json.loads(x) for x in output.read_text().splitlines()]
    failed = [json.loads(x) for x in errors.read_text().splitlines()]
    ids = [x["custom_id"] for x in done + failed]
    assert sorted(ids) == sorted(f"c{i}" for i in range(LINES))  # each exactly once
    assert [x["custom_id"] for x in failed] == ["c7"] and failed[0]["response"]["status_code"] == 400
    assert all(x["response"]["status_code"] == 200 for x in done)


def _ids(path: Path) -> set[str]:
    return {json.loads(x)["custom_id"] for x in path.read_text().splitlines()} if path.exists() else set()
