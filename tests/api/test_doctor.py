"""``jurist doctor`` as a user runs it (the real command, the real embedded model self-tested in its own
process, a real remote stand-in over HTTP): what a bug report needs, and exit 1 when something is broken."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.live import StubUpstream

pytestmark = pytest.mark.embedded

JURIST = Path(sys.executable).parent / "jurist"


def doctor(tmp_path: Path, config: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "jurist.toml"
    path.write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JURIST_")}
    env |= {"JURIST_CONFIG": str(path), "JURIST_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    return subprocess.run(
        [str(JURIST), "doctor", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def rows(output: str) -> dict[str, str]:
    """The table's rows: check name → its status (first two columns)."""
    found = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) >= 3 and cells[1] in ("ok", "warn", "fail", "skip"):
            found[cells[0]] = cells[1]
    return found


def test_doctor_self_tests_the_embedded_model_and_reports_the_machine(tmp_path: Path) -> None:
    done = doctor(tmp_path, '[models.pai-judge]\nbackend = "llama_cpp"\nparallel = 1\n')
    assert done.returncode == 0, done.stdout + done.stderr
    found = rows(done.stdout)
    assert found["model pai-judge"] == "ok" and found["llama.cpp system info"] == "ok", done.stdout
    assert found["cpu"] == found["cpu flags"] == found["versions"] == "ok"
    assert found["database"] == "warn"  # a new data dir: made on first start
    assert "self-test passed" in done.stdout and "extra buffer types" in done.stdout
    assert "llama-cpp-python 0.3" in done.stdout and "CPU :" in done.stdout


def test_doctor_fails_on_a_broken_model_and_an_unreachable_upstream(tmp_path: Path) -> None:
    with StubUpstream() as upstream:
        config = (
            f'[models.good]\nbackend = "openai"\nbase_url = "{upstream.base_url}"\n'
            '[models.down]\nbackend = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nconnect_timeout = 2\n'
            f'[models.missing]\nbackend = "llama_cpp"\nmodel_path = "{tmp_path / "nothing.gguf"}"\n'
        )
        done = doctor(tmp_path, config)
        offline = doctor(tmp_path, config, "--offline")
    assert done.returncode == 1, done.stdout + done.stderr
    found = rows(done.stdout)
    assert found["model good"] == "ok" and found["model down"] == "fail", done.stdout
    assert found["model missing"] == "fail" and "nothing.gguf" in done.stdout
    assert "broken: model down, model missing" in " ".join(done.stderr.split())
    assert offline.returncode == 1  # the missing file is still broken; the remote models are skipped
    skipped = rows(offline.stdout)
    assert skipped["model good"] == skipped["model down"] == "skip", offline.stdout
