"""The python grader's sandbox as the graders use it: a score, or None and why (``python_grader`` runs
each grade in a subprocess of its own, with time and memory limits, no network and a read-only view of
the file system). Off unless a deployment turns it on (``JURIST_PYTHON_GRADER=true``).

Why is the grader's own error (``runtime_error: ZeroDivisionError: …``, ``timeout: …``) unless the
sandbox failed this server: then it starts with ``python_grader_server_error: <kind>: …`` (kind
``sandbox_unavailable`` or ``sandbox_error``), the error flag ``graders/run`` answers for it."""

from __future__ import annotations

from jurist.service.evals.python_grader import PythonSandbox, SandboxLimits, validate_source

SERVER_ERROR = "python_grader_server_error"


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
        if result.server_fault:
            return None, f"{SERVER_ERROR}: {result.error}"
        return result.score, result.error

    @property
    def required(self) -> tuple[str, ...]:
        """The protections without which a grade is refused (a server fault)."""
        return self._sandbox.required

    def protections(self) -> list[str]:
        """The protections a grade gets here (a probe child, once; blocking)."""
        return list(self._sandbox.protections())

    def unavailable_protections(self) -> dict[str, str]:
        """Each protection that is not active here, and why."""
        return self._sandbox.unavailable_protections()
