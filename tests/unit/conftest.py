"""Fixtures of the python grader's tests (tests/unit/test_python_grader*.py)."""

from __future__ import annotations

import pytest

from jurist.service.evals.python_grader import PythonSandbox
from tests.support.python_grader import LIMITS


@pytest.fixture(params=[True, False], ids=["namespaces", "no-namespaces"])
def sandbox(request: pytest.FixtureRequest) -> PythonSandbox:
    return PythonSandbox(LIMITS, namespaces=request.param)


@pytest.fixture
def default_sandbox() -> PythonSandbox:
    return PythonSandbox(LIMITS)
