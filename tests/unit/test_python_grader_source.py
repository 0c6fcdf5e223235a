"""The ``python`` grader's protections as reported and required, and its source checks: a source is only
parsed and compiled, never run, when a grader is validated."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from jurist.errors import InvalidRequest
from jurist.service.evals.python_grader import (
    ALL_PROTECTIONS,
    BASELINE_PROTECTIONS,
    MAX_SOURCE_BYTES,
    STRICT_PROTECTIONS,
    PythonSandbox,
    validate_source,
)
from jurist.service.evals.sandbox import SandboxedPython
from tests.support.python_grader import LIMITS, grade

# ---------------------------------------------------------------- protections


def test_protections_are_reported() -> None:
    sandbox = PythonSandbox(LIMITS)
    active = sandbox.protections()
    assert set(BASELINE_PROTECTIONS) <= set(active)
    assert set(active) <= set(ALL_PROTECTIONS)
    assert set(sandbox.unavailable_protections()).isdisjoint(active)
    without = PythonSandbox(LIMITS, namespaces=False)
    assert "network_namespace" not in without.protections()
    assert without.unavailable_protections()["network_namespace"] == "disabled by configuration"


async def test_a_missing_required_protection_refuses_to_run_the_grader() -> None:
    sandbox = PythonSandbox(LIMITS, required=STRICT_PROTECTIONS, namespaces=False)
    target = Path("/tmp") / f"jurist-grader-test-{uuid.uuid4().hex}"
    source = (
        "import os\n"
        "def grade(sample, item):\n"
        "    os.close(os.open(item['path'], os.O_CREAT | os.O_WRONLY))\n"
        "    return 1.0\n"
    )
    result = await grade(sandbox, source, item={"path": str(target)})
    assert result.score is None
    assert result.error is not None and result.error.startswith("sandbox_unavailable: ")
    assert "network_namespace" in result.error
    assert result.server_fault
    assert not target.exists()


async def test_the_graders_see_a_server_fault_as_a_python_grader_server_error() -> None:
    sandboxed = SandboxedPython(timeout_seconds=5, memory_mb=512)
    own = await asyncio.wait_for(sandboxed.score("def grade(sample, item):\n    return 1 / 0\n", {}, {}), 30)
    assert own == (None, "runtime_error: ZeroDivisionError: division by zero")
    sandboxed._sandbox = PythonSandbox(LIMITS, required=STRICT_PROTECTIONS, namespaces=False)
    score, why = await asyncio.wait_for(
        sandboxed.score("def grade(sample, item):\n    return 1.0\n", {}, {}), 30
    )
    assert score is None and why is not None
    assert why.startswith("python_grader_server_error: sandbox_unavailable: required protections"), why


def test_unknown_required_protections_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no_such_thing"):
        PythonSandbox(required=["no_such_thing"])


# ---------------------------------------------------------------- validate_source


def test_validate_source_never_executes_the_code(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    source = (
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "import os\n"
        f"os.system('touch {marker}')\n"
        "def grade(sample, item):\n"
        f"    open({str(marker)!r}, 'w').write('ran')\n"
        "    return 1.0\n"
    )
    validate_source(source)
    assert not marker.exists()


@pytest.mark.parametrize(
    "signature",
    ["sample, item", "s, i", "sample, item, extra=None", "sample, /, item", "*args", "sample, *rest"],
)
def test_validate_source_accepts_two_positional_parameters(signature: str) -> None:
    validate_source(f"import math\n\ndef grade({signature}):\n    return 1.0\n")


def test_validate_source_without_grade_is_invalid() -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_source("def score(sample, item):\n    return 1.0\n")
    assert caught.value.param == "grader.source"
    assert "grade(sample, item)" in caught.value.message


@pytest.mark.parametrize(
    "source",
    [
        "def grade(sample):\n    return 1.0\n",
        "def grade(sample, item, other):\n    return 1.0\n",
        "def grade(sample, item, *, key):\n    return 1.0\n",
        "async def grade(sample, item):\n    return 1.0\n",
        "if True:\n    def grade(sample, item):\n        return 1.0\n",
        "grade = lambda sample, item: 1.0\n",
    ],
    ids=["one-arg", "three-args", "required-keyword", "async", "not-top-level", "lambda"],
)
def test_validate_source_needs_a_top_level_two_argument_def(source: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_source(source, param="testing_criteria[0].source")
    assert caught.value.param == "testing_criteria[0].source"


def test_validate_source_names_the_line_of_a_syntax_error() -> None:
    source = "def grade(sample, item):\n    x = 1\n    return (x +\n\nprint('never')\n"
    with pytest.raises(InvalidRequest) as caught:
        validate_source(source)
    assert "line 3" in caught.value.message
    assert caught.value.param == "grader.source"


def test_validate_source_catches_compile_time_errors_too() -> None:
    with pytest.raises(InvalidRequest, match="line 3"):  # found by the compiler, not the parser
        validate_source("def grade(sample, item):\n    return 1\nnonlocal x\n")


def test_validate_source_rejects_more_than_256_kb() -> None:
    body = "def grade(sample, item):\n    return 1.0\n"
    padding = "#" * (MAX_SOURCE_BYTES - len(body) - 1) + "\n"
    validate_source(body + padding)  # exactly at the limit
    with pytest.raises(InvalidRequest, match="256 kB"):
        validate_source(body + padding + "#")
