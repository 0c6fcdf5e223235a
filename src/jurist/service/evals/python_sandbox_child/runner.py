"""The child's run: read the request, set the sandbox up layer by layer, report, run the grader's
``grade(sample, item)`` and report its score or its error. The score is checked here (a finite number,
not a bool); anything else the grader does is an error of a kind in ``GRADER_ERROR_KINDS``."""

from __future__ import annotations

import builtins
import json
import math
import os
import signal
import sys

from .audit import make_audit_hook
from .namespaces import enter_namespaces, fork_into_pid_namespace
from .privileges import drop_privileges
from .protocol import AUDIT_HOOK, GraderError, Message, Ready, Refused, Request, Result, Score, SetupError
from .rlimits import apply_rlimits, limit_processes
from .root import build_file_system
from .state import SetUp

READ_CHUNK = 1 << 16
# Bytecode is never read from a cache (it would need ``marshal.loads``, which the hook refuses).
NO_PYCACHE = "/nonexistent-jurist-grader-pycache"


class CpuTimeExceeded(BaseException):
    """SIGXCPU: the grader used up its CPU-time limit."""


def _on_sigxcpu(signum: int, frame: object) -> None:
    raise CpuTimeExceeded()


def prepare_interpreter(state: SetUp) -> None:
    """The last step: forget ctypes and libc, no bytecode caches, the grader's ``sys.path``, SIGXCPU as
    an exception, and the audit hook."""
    for name in [m for m in sys.modules if m == "ctypes" or m.startswith(("ctypes.", "_ctypes"))]:
        del sys.modules[name]
    state.libc.forget()
    sys.dont_write_bytecode = True
    sys.pycache_prefix = NO_PYCACHE
    sys.path[:] = [*state.stdlib_paths, *state.import_paths]
    signal.signal(signal.SIGXCPU, _on_sigxcpu)
    sys.addaudithook(make_audit_hook())
    state.ok(AUDIT_HOOK)


def _emit(fd: int, message: Message) -> None:
    data = (json.dumps(message, allow_nan=False) + "\n").encode()
    while data:
        data = data[os.write(fd, data) :]


def _describe(value: object, limit: int) -> str:
    try:
        text = repr(value)
    except BaseException:
        text = f"<unrepresentable {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _exception_message(exc: BaseException, limit: int) -> str:
    try:
        detail = str(exc)
    except BaseException:
        detail = "<unprintable>"
    text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_grader(source: str, sample: object, item: object, cpu_seconds: int, message_chars: int) -> Result:
    """Run the grader's code and return ``{"score": x}`` or ``{"error": "kind: detail"}``."""
    namespace: dict[str, object] = {"__name__": "__grader__", "__builtins__": builtins}
    try:
        exec(compile(source, "<grader>", "exec", dont_inherit=True), namespace)
        grade = namespace.get("grade")
        if not callable(grade):
            return GraderError(error="invalid_source: the source defines no function grade(sample, item)")
        value = grade(sample, item)
    except CpuTimeExceeded:
        return GraderError(error=f"timeout: the grader used more than {cpu_seconds} s of CPU time")
    except MemoryError as exc:
        return GraderError(error="memory: " + _exception_message(exc, message_chars))
    except BaseException as exc:
        return GraderError(error="runtime_error: " + _exception_message(exc, message_chars))
    if type(value) is bool or not isinstance(value, int | float):
        kind = "a bool, not a number" if type(value) is bool else type(value).__name__
        return GraderError(error=f"invalid_result: returned {_describe(value, 200)} ({kind})")
    try:
        score = float(value)
    except (OverflowError, ValueError, TypeError):
        why = f"invalid_result: returned {_describe(value, 200)} (not representable as a float)"
        return GraderError(error=why)
    if not math.isfinite(score):
        return GraderError(error=f"invalid_result: returned {score!r} (not a finite number)")
    return Score(score=score)


def _set_up(request: Request) -> SetUp:
    state = SetUp(request)
    state.check_start()
    apply_rlimits(state)
    enter_namespaces(state)
    fork_into_pid_namespace(state)
    build_file_system(state)
    drop_privileges(state)
    limit_processes(state)
    prepare_interpreter(state)
    return state


def main() -> None:
    out = os.dup(1)  # the result channel; fds 0/1/2 become /dev/null
    os.set_inheritable(out, False)
    chunks = []
    while chunk := os.read(0, READ_CHUNK):
        chunks.append(chunk)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.stdout = sys.stderr = open(devnull, "w", closefd=False)  # noqa: SIM115 - lives as long as we do
    try:
        request: Request = json.loads(b"".join(chunks))
        state = _set_up(request)
    except BaseException as exc:  # a broken set-up is the server's fault, never the grader's
        _emit(out, SetupError(setup_error=f"{type(exc).__name__}: {exc}"))
        os._exit(0)
    refused = state.missing([str(name) for name in request.get("required") or ()])
    active, unavailable, forked = state.active, state.unavailable, state.forked
    if refused is not None:
        _emit(out, Refused(refused=refused, protections=active, unavailable=unavailable, forked=forked))
        os._exit(0)
    _emit(out, Ready(ready=True, protections=active, unavailable=unavailable, forked=forked))
    if request.get("probe"):
        os._exit(0)
    result = run_grader(
        str(request.get("source", "")),
        request.get("sample"),
        request.get("item"),
        state.cpu_seconds,
        state.max_message_chars,
    )
    try:
        _emit(out, result)
    except BaseException:
        _emit(out, GraderError(error="invalid_result: the result could not be reported"))
    os._exit(0)  # no interpreter finalisation: the grader's atexit handlers and finalisers never run
