"""The contracts checker in ``make lint`` (import-linter) holds the layers, and fails on a violation:
run on a copy of the package, clean and then with one deliberate wrong-way import each."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
LINT = Path(sys.executable).parent / "lint-imports"


def lint(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")],
        cwd=src, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def package(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "src" / "jurist", tmp_path / "jurist", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


def test_the_package_keeps_its_contracts(package: Path) -> None:
    result = lint(package)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "broken"),
    [
        (
            "service/operations/metrics.py",
            "import jurist.runner.worker",
            "jurist.service.operations.metrics -> jurist.runner.worker",
        ),
        ("store/records.py", "import jurist.composition", "jurist.store.records -> jurist.composition"),
        (
            "service/tenancy/limits.py",
            "import jurist.service.judging.pipeline",
            "jurist.service.tenancy.limits -> jurist.service.judging.pipeline",
        ),
        (
            "service/trust/labels.py",
            "import jurist.service.judging.cascade",
            "jurist.service.trust.labels -> jurist.service.judging.cascade",
        ),
        ("judging/render.py", "import aiohttp", "jurist.judging.render -> aiohttp"),
        (
            "judging/parsing.py",
            "import jurist.backends.base",
            "jurist.judging.parsing -> jurist.backends.base",
        ),
    ],
)
def test_a_wrong_way_import_breaks_the_lint(package: Path, module: str, bad_import: str, broken: str) -> None:
    path = package / "jurist" / module
    path.write_text(path.read_text() + f"\n{bad_import}  # deliberate violation\n")
    result = lint(package)
    assert result.returncode != 0
    assert broken in result.stdout, result.stdout
