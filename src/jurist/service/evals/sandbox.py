"""The python grader's sandbox as the graders use it: a score, or None and why (``python_grader`` runs
each grade in a subprocess of its own, with time and memory limits, no network and a read-only view of
the file system). Off unless a deployment turns it on (``JURIST_PYTHON_GRADER=true``)."""

from __future__ import annotations

from jurist.service.evals.python_grader import PythonSandbox, SandboxLimits, validate_source


def check_python_source(source: str, param: str) -> None:
    """A 400 naming ``param`` when the source cannot be a grader (parsed only, never run)."""
    validate_source(source, param=param)


class SandboxedPython:
    def __init__(self, timeout_seconds: float, memory_mb: int) -> None:
        self._sandbox = PythonSandbox(
            SandboxLimits(timeout_seconds=timeout_seconds, memory_bytes=memory_mb << 20)
        )

    async def score(self, source: str, sample: object, item: object) -> tuple[float | None, str | None]:
        result = await self._sandbox.grade(
            source, sample if isinstance(sample, dict) else {}, item if isinstance(item, dict) else {}
        )
        return result.score, result.error

    def protections(self) -> list[str]:
        return list(self._sandbox.protections())
