"""The ``python`` grader (evals §4.3): caller-supplied source defining ``grade(sample, item) -> float``.

This is remote code execution by design, so the code never runs in the server process, and
``validate_source`` (what ``graders/validate`` and eval creation use) only parses and compiles it.
``PythonSandbox.grade`` runs each grade in a fresh child process
(``python -I -S -B python_sandbox_child.py``; see that module for the set-up, layer by layer):

- an EMPTY environment (no server variables, no API keys), a fresh empty temp dir as cwd (removed
  after), stdin/stdout pipes only (stderr is ``/dev/null``), a session and process group of its own,
  the whole group SIGKILLed on the wall-clock timeout;
- rlimits: memory (RLIMIT_AS), CPU time, open files, file size 0, no core dumps, processes;
- on Linux, new network (no network at all), mount, PID, IPC and UTS namespaces, inside a new user
  namespace when not root; a minimal read-only root file system (system libraries and the
  interpreter's standard library only) with a private ``/proc``; root becomes ``nobody``; all
  capabilities dropped; ``no_new_privs``;
- an audit hook refusing sockets, processes, ctypes, writes and file-system changes.

What degrades where (each step that is unavailable is skipped, and reported by ``protections()`` and
in every ``SandboxResult.protections``):

- unprivileged user, unprivileged user namespaces allowed (most distributions; Debian, Fedora, Arch,
  Ubuntu < 23.10): everything, inside a user namespace;
- root (also in a container with CAP_SYS_ADMIN): everything, without a user namespace; the grader runs
  as ``nobody``;
- no user namespaces (``kernel.unprivileged_userns_clone=0``, ``user.max_user_namespaces=0``, Ubuntu
  23.10+'s AppArmor restriction, Docker's default seccomp profile without CAP_SYS_ADMIN): no
  namespaces, so no network isolation but the audit hook, the host's file system (read-only only by the
  audit hook and RLIMIT_FSIZE=0), the server's uid (so it can READ what the server can read, including
  ``/proc/<server pid>/environ``), RLIMIT_NPROC counted per uid; root still becomes ``nobody`` when
  ``nobody`` can read the standard library;
- macOS and other non-Linux systems: no namespaces, and RLIMIT_AS is not enforced on macOS, so the
  default ``required`` set refuses to run graders there (``sandbox_unavailable``).

Audit hooks are not a security boundary (PEP 578); where the namespaces are missing, a determined
grader may find a way past them. A deployment that runs untrusted graders should require the kernel
protections: ``PythonSandbox(required=STRICT_PROTECTIONS)``; then a grade on a machine without them
fails with ``sandbox_unavailable`` instead of running with less.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from jurist.errors import InvalidRequest
from jurist.service.evals import python_sandbox_child as child

log = logging.getLogger(__name__)

MAX_SOURCE_BYTES = 256 * 1024
MiB = 1024 * 1024

# Always available on Linux; without them the grader does not run (fail safe).
BASELINE_PROTECTIONS: tuple[str, ...] = (
    child.EMPTY_ENV,
    child.FRESH_CWD,
    child.PROCESS_GROUP,
    child.RLIMIT_MEMORY,
    child.RLIMIT_CPU,
    child.RLIMIT_FSIZE,
    child.AUDIT_HOOK,
)
# What a deployment running untrusted graders should require (Linux with namespaces).
STRICT_PROTECTIONS: tuple[str, ...] = (
    *BASELINE_PROTECTIONS,
    child.NETWORK_NAMESPACE,
    child.MOUNT_NAMESPACE,
    child.PID_NAMESPACE,
    child.MINIMAL_ROOT,
    child.READ_ONLY_FS,
    child.UNPRIVILEGED_UID,
    child.CAPABILITIES_DROPPED,
    child.NO_NEW_PRIVS,
)
ALL_PROTECTIONS: tuple[str, ...] = child.ALL_PROTECTIONS

# Error kinds (the part of ``SandboxResult.error`` before the first colon).
GRADER_ERROR_KINDS: tuple[str, ...] = (*child.GRADER_ERROR_KINDS, "crashed")
SERVER_ERROR_KINDS: tuple[str, ...] = ("sandbox_unavailable", "sandbox_error")

_GROUP_GONE_WAIT = 1.0  # seconds to wait, after the kill, for the last process of the group to go
_TERM_GRACE = 1.0  # seconds the intermediate process gets to kill and reap the grader itself


def validate_source(source: str, *, param: str = "grader.source") -> None:
    """Check a python grader's source WITHOUT executing any of it.

    Size (at most 256 kB of UTF-8), syntax (``ast.parse`` and ``compile``: neither runs the code) and a
    top-level ``def grade(sample, item)`` callable with two positional arguments. Raises
    ``InvalidRequest`` naming ``param``.
    """
    if not isinstance(source, str):
        raise InvalidRequest("the python grader source must be a string", param=param)
    try:
        size = len(source.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidRequest(
            f"the python grader source is not valid UTF-8: {exc.reason}", param=param
        ) from None
    if size > MAX_SOURCE_BYTES:
        raise InvalidRequest(
            f"the python grader source is {size} bytes; the limit is {MAX_SOURCE_BYTES} bytes (256 kB)",
            param=param,
        )
    try:
        tree = ast.parse(source, filename="<grader>", mode="exec")
        compile(tree, "<grader>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        raise InvalidRequest(
            f"the python grader source has a syntax error{where}: {exc.msg}", param=param
        ) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        raise InvalidRequest(f"the python grader source cannot be compiled: {exc}", param=param) from None
    grade: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    for node in tree.body:  # the last top-level definition is the one a run would call
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "grade":
            grade = node
    if grade is None:
        raise InvalidRequest(
            "the python grader source must define a top-level function grade(sample, item)", param=param
        )
    if isinstance(grade, ast.AsyncFunctionDef):
        raise InvalidRequest("grade(sample, item) must be a plain function, not async def", param=param)
    if not _takes_two_positional(grade.args):
        raise InvalidRequest(
            f"grade must accept two positional arguments (sample, item), line {grade.lineno}", param=param
        )


def _takes_two_positional(args: ast.arguments) -> bool:
    positional = len(args.posonlyargs) + len(args.args)
    required = positional - len(args.defaults)
    keyword_only_required = any(default is None for default in args.kw_defaults)
    return required <= 2 and (positional >= 2 or args.vararg is not None) and not keyword_only_required


@dataclass(frozen=True)
class SandboxLimits:
    """The limits of one grade. Hosted OpenAI allowed 2 min and 2 GB; these defaults are a server's."""

    timeout_seconds: float = 10.0  # wall clock, from start to result; then the process group is killed
    memory_bytes: int = 512 * MiB  # RLIMIT_AS: address space, so it also bounds thread stacks
    cpu_seconds: int = 10  # RLIMIT_CPU (SIGXCPU, then SIGKILL one second later)
    max_open_files: int = 64  # RLIMIT_NOFILE
    max_file_bytes: int = 0  # RLIMIT_FSIZE: no file may grow (the file system is read-only anyway)
    max_processes: int = 64  # RLIMIT_NPROC (threads count); forks are refused anyway
    max_output_bytes: int = 64 * 1024  # what the child may write back before it is killed
    max_message_chars: int = 2000  # an error message from the grader is cut to this

    def __post_init__(self) -> None:
        checks = (
            ("timeout_seconds", self.timeout_seconds > 0),
            ("memory_bytes", self.memory_bytes >= 64 * MiB),
            ("cpu_seconds", self.cpu_seconds >= 1),
            ("max_open_files", self.max_open_files >= 16),
            ("max_file_bytes", self.max_file_bytes >= 0),
            ("max_processes", self.max_processes >= 1),
            ("max_output_bytes", self.max_output_bytes >= 4096),
            ("max_message_chars", self.max_message_chars >= 80),
        )
        for name, ok in checks:
            if not ok:
                raise ValueError(f"SandboxLimits.{name} is out of range: {getattr(self, name)!r}")

    def to_child(self) -> dict[str, int]:
        return {
            "memory_bytes": self.memory_bytes,
            "cpu_seconds": self.cpu_seconds,
            "max_open_files": self.max_open_files,
            "max_file_bytes": self.max_file_bytes,
            "max_processes": self.max_processes,
            "max_message_chars": self.max_message_chars,
        }


@dataclass(frozen=True)
class SandboxResult:
    """One grade. ``score`` is a finite float, or None with ``error`` set (the caller scores 0 and
    flags it): ``"kind: detail"``, kind one of ``GRADER_ERROR_KINDS`` (the grader's fault:
    runtime_error, invalid_result, timeout, memory, crashed, invalid_source) or ``SERVER_ERROR_KINDS``
    (sandbox_unavailable, sandbox_error: this server's fault, ``python_grader_server_error``)."""

    score: float | None
    error: str | None
    duration: float
    protections: tuple[str, ...] = ()

    @property
    def error_kind(self) -> str | None:
        return None if self.error is None else self.error.split(":", 1)[0]

    @property
    def server_fault(self) -> bool:
        return self.error_kind in SERVER_ERROR_KINDS


@dataclass(frozen=True)
class _Outcome:
    output: bytes
    timed_out: bool
    overflowed: bool
    returncode: int | None


class PythonSandbox:
    """Runs python graders, one fresh sandboxed child process per grade.

    ``required``: protections without which a grade is refused (``sandbox_unavailable``) rather than
    run with less; defaults to ``BASELINE_PROTECTIONS``. ``namespaces=False`` skips the Linux
    namespace steps (for hosts where they misbehave; everything else stays). ``import_paths``:
    directories (say, a site-packages with numpy) bound read-only into the sandbox and put on the
    grader's ``sys.path``; by default the grader has the standard library only.
    """

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        required: Iterable[str] = BASELINE_PROTECTIONS,
        namespaces: bool = True,
        import_paths: Sequence[str] = (),
        python: str | None = None,
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.required = tuple(required)
        unknown = sorted(set(self.required) - set(ALL_PROTECTIONS))
        if unknown:
            raise ValueError(f"unknown sandbox protections: {', '.join(unknown)}")
        self.namespaces = namespaces
        self.import_paths = tuple(import_paths)
        for path in self.import_paths:
            if not os.path.isabs(path):
                raise ValueError(f"import_paths must be absolute: {path!r}")
        self.python = python if python is not None else sys.executable
        self.child_path = os.path.abspath(child.__file__)
        self._probe: tuple[list[str], dict[str, str]] | None = None

    # ---------------------------------------------------------------- grading

    async def grade(self, source: str, sample: dict[str, Any], item: dict[str, Any]) -> SandboxResult:
        """Run ``grade(sample, item)`` from ``source``. Never raises for the grader's own faults."""
        started = time.monotonic()
        try:
            validate_source(source)
        except InvalidRequest as exc:
            return SandboxResult(None, f"invalid_source: {exc.message}", time.monotonic() - started)
        payload = self._request(source, sample, item, probe=False)
        unavailable = self._cannot_start()
        if unavailable:
            return SandboxResult(None, f"sandbox_unavailable: {unavailable}", time.monotonic() - started)
        workdir = tempfile.mkdtemp(prefix="jurist-grader-")
        try:
            outcome = await self._run(payload, workdir)
        except OSError as exc:
            log.error("the python grader sandbox could not start: %s", exc)
            return SandboxResult(
                None, f"sandbox_unavailable: could not start the sandbox: {exc}", time.monotonic() - started
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return self._interpret(outcome, time.monotonic() - started)

    def _request(self, source: str, sample: Any, item: Any, *, probe: bool) -> bytes:
        return json.dumps(
            {
                "source": source,
                "sample": sample,
                "item": item,
                "limits": self.limits.to_child(),
                "required": list(self.required),
                "import_paths": list(self.import_paths),
                "namespaces": self.namespaces,
                "probe": probe,
            }
        ).encode("utf-8")

    def _command(self) -> list[str]:
        return [self.python, "-I", "-S", "-B", self.child_path]

    def _cannot_start(self) -> str | None:
        if not self.python:
            return "no Python interpreter to run the sandbox with (sys.executable is empty)"
        if not os.path.isfile(self.child_path):
            return f"the sandbox child script is missing: {self.child_path}"
        return None

    async def _run(self, payload: bytes, workdir: str) -> _Outcome:
        proc = await asyncio.create_subprocess_exec(
            *self._command(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={},
            cwd=workdir,
            start_new_session=True,
        )
        assert proc.stdin is not None and proc.stdout is not None
        stdin, stdout = proc.stdin, proc.stdout
        output = bytearray()
        overflowed = timed_out = False
        forked = False

        async def feed() -> None:
            try:
                stdin.write(payload)
                await stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the child died early; what it wrote says why
            finally:
                stdin.close()

        async def read() -> None:
            nonlocal overflowed, forked
            while chunk := await stdout.read(65536):
                output.extend(chunk)
                if not forked and b"\n" in output:
                    header = _json_object(bytes(output.split(b"\n", 1)[0]))
                    forked = header is not None and header.get("forked") is True
                if len(output) > self.limits.max_output_bytes:
                    overflowed = True
                    return

        try:
            try:
                async with asyncio.timeout(self.limits.timeout_seconds):
                    await asyncio.gather(feed(), read())
                    if not overflowed:
                        await proc.wait()
            except TimeoutError:
                timed_out = True
        finally:
            await self._kill(proc, forked)
        return _Outcome(bytes(output), timed_out, overflowed, proc.returncode)

    async def _kill(self, proc: asyncio.subprocess.Process, forked: bool) -> None:
        """Leave nothing of the child's process group behind (also when the grade is cancelled)."""
        if proc.returncode is None and forked:
            # The intermediate process kills and reaps the grader itself on SIGTERM (no orphan).
            try:
                proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(asyncio.shield(proc.wait()), _TERM_GRACE)
            except (ProcessLookupError, TimeoutError):
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        deadline = time.monotonic() + _GROUP_GONE_WAIT
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except (ProcessLookupError, PermissionError):
                return
            await asyncio.sleep(0.02)
        log.warning("a process of the python grader sandbox group %d outlived its SIGKILL", proc.pid)

    def _interpret(self, outcome: _Outcome, duration: float) -> SandboxResult:
        lines = outcome.output.split(b"\n")
        header = _json_object(lines[0])

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
                return result(
                    None, f"timeout: the sandbox did not start within {self.limits.timeout_seconds} s"
                )
            detail = header.get("setup_error") if header is not None else None
            return result(
                None,
                f"sandbox_error: the sandbox failed before running the grader "
                f"({detail or f'exit status {outcome.returncode}'})",
            )
        if "refused" in header:
            return result(None, f"sandbox_unavailable: {header['refused']}")
        if outcome.timed_out:
            return result(
                None, f"timeout: the grader ran longer than {self.limits.timeout_seconds:g} s (wall clock)"
            )
        if outcome.overflowed:
            return result(
                None, f"invalid_result: the grader wrote more than {self.limits.max_output_bytes} bytes"
            )
        answer = _json_object(lines[1]) if len(lines) > 1 else None
        if answer is None:
            return result(None, self._death(outcome.returncode, duration))
        if "score" in answer:
            score = answer["score"]
            if type(score) in (int, float) and math.isfinite(score):
                return result(float(score), None)
        error = answer.get("error")
        if isinstance(error, str) and error.split(":", 1)[0] in child.GRADER_ERROR_KINDS:
            text = error.encode("utf-8", "replace").decode("utf-8")
            return result(None, text[: self.limits.max_message_chars + 200])
        return result(None, "invalid_result: the sandbox returned a malformed result")

    def _death(self, returncode: int | None, duration: float) -> str:
        """Why a child that was ready died without a result."""
        if returncode is not None and returncode < 0:
            sig = -returncode
            if sig == signal.SIGXCPU or (sig == signal.SIGKILL and duration >= self.limits.cpu_seconds):
                return f"timeout: the grader used more than {self.limits.cpu_seconds} s of CPU time"
            if sig == signal.SIGKILL:
                return "memory: the grader was killed (SIGKILL), most likely out of memory"
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            return f"crashed: the grader process died of {name}"
        return f"crashed: the grader process exited with status {returncode} without a result"

    # ---------------------------------------------------------------- reporting

    def protections(self) -> list[str]:
        """The protections a grade gets on this machine (runs one probe child, once; blocking: for
        ``jurist doctor`` and start-up checks, not for the event loop)."""
        return list(self._probe_once()[0])

    def unavailable_protections(self) -> dict[str, str]:
        """Each protection that is not active here, and why."""
        return dict(self._probe_once()[1])

    def _probe_once(self) -> tuple[list[str], dict[str, str]]:
        if self._probe is None:
            self._probe = self._run_probe()
        return self._probe

    def _run_probe(self) -> tuple[list[str], dict[str, str]]:
        unavailable = self._cannot_start()
        if unavailable:
            return [], {"sandbox": unavailable}
        workdir = tempfile.mkdtemp(prefix="jurist-grader-")
        try:
            done = subprocess.run(
                self._command(),
                input=self._request("", {}, {}, probe=True),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={},
                cwd=workdir,
                start_new_session=True,
                timeout=max(self.limits.timeout_seconds, 10.0),
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return [], {"sandbox": f"the probe failed: {exc}"}
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        header = _json_object(done.stdout.split(b"\n")[0])
        if header is None:
            return [], {"sandbox": f"the probe failed (exit status {done.returncode})"}
        if "setup_error" in header:
            return [], {"sandbox": f"the probe failed: {header['setup_error']}"}
        active = header.get("protections")
        why = header.get("unavailable")
        return (
            [p for p in active if isinstance(p, str)] if isinstance(active, list) else [],
            {str(k): str(v) for k, v in why.items()} if isinstance(why, dict) else {},
        )


def _json_object(line: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
