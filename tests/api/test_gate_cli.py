"""``jurist gate`` against a live server (and on its data dir): exit 1 only for an established regression,
a Markdown summary and JUnit XML; and ``jurist.testing``'s ``assert_no_regression`` inside a test suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from openai import OpenAI

import jurist
from jurist.testing import assert_no_regression
from tests.api.test_evals_compare import CRITERIA, rows, run
from tests.support.live import LiveServer
from tests.support.services import API_KEY


def gate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jurist", "gate", *args], capture_output=True, text=True,
                          timeout=120, env=env)  # fmt: skip


def test_the_gate_fails_only_an_established_regression(
    client: OpenAI, server: LiveServer, tmp_path: Path
) -> None:
    eval_id = client.evals.create(
        data_source_config={
            "type": "custom",
            "item_schema": {"type": "object"},
            "include_sample_schema": True,
        },
        testing_criteria=CRITERIA,
    ).id
    good = run(client, eval_id, rows(300, 0.8, seed=1))
    worse = run(client, eval_id, rows(300, 0.5, seed=2))
    noisy = run(client, eval_id, rows(300, 0.8, seed=3))  # the same quality, sampled again
    remote = ["--server", server.base_url, "--key", API_KEY, "--eval", eval_id]
    junit = tmp_path / "gate.xml"
    failed = gate(*remote, "--base", good, "--candidate", worse, "--junit", str(junit))
    assert failed.returncode == 1, failed.stderr
    assert "### Jurist gate: ❌ failed" in failed.stdout and "| exact |" in failed.stdout
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "1" and [c.get("name") for c in suite] == [
        "exact",
        "close",
        "gate on overall",
    ]
    passed = gate(
        *remote, "--base", good, "--candidate", noisy, "--max-regression", "0.05", "--criterion", "exact"
    )
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "✅ passed" in passed.stdout and "gated on **exact**" in passed.stdout
    strict = gate(
        *remote, "--base", good, "--candidate", worse, "--require-noninferiority", "--max-regression", "0.05"
    )
    assert strict.returncode == 1
    missing = gate(*remote, "--base", good, "--candidate", "evalrun_missing")
    assert missing.returncode == 2 and "param: candidate" in missing.stderr
    assert gate(*remote, "--base", good, "--candidate", worse, "--max-regression", "2").returncode == 2
    shown = subprocess.run([sys.executable, "-m", "jurist", "compare", *remote, "--base", good, "--candidate", worse],
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert shown.returncode == 0 and "| overall |" in shown.stdout and "| worse |" in shown.stdout
    as_json = subprocess.run([sys.executable, "-m", "jurist", "compare", *remote, "--base", good, "--candidate",
                              worse, "--json"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert json.loads(as_json.stdout)["overall"]["decision"] == "worse"
    env = {
        **os.environ,
        "JURIST_DATA_DIR": str(server.services.settings.data_dir),
        "JURIST_API_KEYS": API_KEY,
    }
    local = gate("--eval", eval_id, "--base", good, "--candidate", worse, "--key", API_KEY, env=env)
    assert local.returncode == 1, local.stderr  # the same answer from the data dir, without a server


def test_assert_no_regression_in_a_test_suite(tmp_path: Path) -> None:
    base = [True] * 80 + [False] * 20
    assert assert_no_regression(base, list(base), margin=0.05).decision == "equivalent"
    with pytest.raises(AssertionError, match="regression"):
        assert_no_regression(base, [True] * 40 + [False] * 60, margin=0.05)
    suite = tmp_path / "test_suite.py"
    suite.write_text(
        "def test_scores(jurist_no_regression):\n"
        "    jurist_no_regression([0.9] * 50, [0.2] * 50, margin=0.05)\n"
    )
    source = str(Path(jurist.__file__).parents[1])  # this checkout's package, wherever pytest runs
    env = {**os.environ, "PYTHONPATH": source, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # only -p loads it
    found = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "jurist.testing", str(suite)],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)  # fmt: skip
    assert found.returncode == 1 and "AssertionError" in found.stdout, found.stdout
