"""What a sandbox child's run comes to: its output (JSON lines), how it ended, and the ``SandboxResult``
they make. The grader can write to the result descriptor too, so nothing the child says is trusted
beyond the grader's own result: a score must be a finite number, an error must be of a grader's kind (a
grader cannot claim a server fault), and anything else is a malformed result."""

from __future__ import annotations

import json
import logging
import math
import signal
from dataclasses import dataclass

from jurist.protocol.json_types import JSONObject
from jurist.service.evals.python_limits import (
    ALL_PROTECTIONS,
    SERVER_ERROR_KINDS,
    SandboxLimits,
    SandboxResult,
)
from jurist.service.evals.python_sandbox_child import protocol as child

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    output: bytes
    timed_out: bool
    overflowed: bool
    returncode: int | None


def json_object(line: bytes) -> JSONObject | None:
    """One line of the child's output as a JSON object (None: it is not one)."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def interpret(outcome: Outcome, limits: SandboxLimits, duration: float) -> SandboxResult:
    lines = outcome.output.split(b"\n")
    header = json_object(lines[0])

    def result(score: float | None, error: str | None) -> SandboxResult:
        if error is not None and error.split(":", 1)[0] in SERVER_ERROR_KINDS:
            log.error("python grader sandbox: %s", error)
        return SandboxResult(score, error, duration, protections)

    protections: tuple[str, ...] = ()
    if header is not None:
        raw = header.get("protections")
        if isinstance(raw, list):
            protections = tuple(p for p in raw if isinstance(p, str) and p in ALL_PROTECTIONS)
    if header is None or not (header.get("ready") is True or "refused" in header):
        if outcome.timed_out:
            return result(None, f"timeout: the sandbox did not start within {limits.timeout_seconds} s")
        detail = header.get("setup_error") if header is not None else None
        return result(
            None,
            f"sandbox_error: the sandbox failed before running the grader "
            f"({detail or f'exit status {outcome.returncode}'})",
        )
    if "refused" in header:
        return result(None, f"sandbox_unavailable: {header['refused']}")
    if outcome.timed_out:
        return result(None, f"timeout: the grader ran longer than {limits.timeout_seconds:g} s (wall clock)")
    if outcome.overflowed:
        return result(None, f"invalid_result: the grader wrote more than {limits.max_output_bytes} bytes")
    answer = json_object(lines[1]) if len(lines) > 1 else None
    if answer is None:
        return result(None, _death(outcome.returncode, duration, limits))
    if "score" in answer:
        score = answer["score"]
        if isinstance(score, int | float) and not isinstance(score, bool) and math.isfinite(score):
            return result(float(score), None)
    error = answer.get("error")
    if isinstance(error, str) and error.split(":", 1)[0] in child.GRADER_ERROR_KINDS:
        text = error.encode("utf-8", "replace").decode("utf-8")
        return result(None, text[: limits.max_message_chars + 200])
    return result(None, "invalid_result: the sandbox returned a malformed result")


def _death(returncode: int | None, duration: float, limits: SandboxLimits) -> str:
    """Why a child that was ready died without a result."""
    if returncode is not None and returncode < 0:
        sig = -returncode
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and duration >= limits.cpu_limit):
            return f"timeout: the grader used more than {limits.cpu_limit} s of CPU time"
        if sig == signal.SIGKILL:
            return "memory: the grader was killed (SIGKILL), most likely out of memory"
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"crashed: the grader process died of {name}"
    return f"crashed: the grader process exited with status {returncode} without a result"
