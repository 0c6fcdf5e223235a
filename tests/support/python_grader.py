"""Shared by the python grader's tests: short sandbox limits, a sample and an item, one bounded grade."""

from __future__ import annotations

import asyncio
from typing import Any

from jurist.service.evals.python_grader import PythonSandbox, SandboxLimits, SandboxResult

LIMITS = SandboxLimits(timeout_seconds=5, cpu_seconds=5)
SAMPLE = {
    "output_text": "Paris",
    "choices": [],
    "output_json": None,
    "output_tools": [],
    "output_audio": None,
}
ITEM = {"reference": "Paris", "weight": 2}


async def grade(sandbox: PythonSandbox, source: str, sample: Any = None, item: Any = None) -> SandboxResult:
    """One grade, never longer than the test allows (the sandbox's own timeout is far shorter)."""
    return await asyncio.wait_for(
        sandbox.grade(source, SAMPLE if sample is None else sample, ITEM if item is None else item), 30
    )
