"""The ``python`` grader (evals §4.3): caller-supplied source defining ``grade(sample, item) -> float``.

This is remote code execution by design, so the code never runs in the server process, and
``validate_source`` (``python_source``: what ``graders/validate`` and eval creation use) only parses and
compiles it. ``PythonSandbox.grade`` runs each grade in a fresh child process
(``python -I -S -B python_sandbox_child/``; see that package for the set-up, layer by layer), and
``python_outcome`` turns what the child wrote and how it ended into a ``SandboxResult``:

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

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence

from jurist.protocol.json_types import JSONObject
from jurist.service.evals import python_sandbox_child as child
from jurist.service.evals.python_limits import (
    ALL_PROTECTIONS,
    BASELINE_PROTECTIONS,
    GRADER_ERROR_KINDS,
    SERVER_ERROR_KINDS,
    STRICT_PROTECTIONS,
    SandboxLimits,
    SandboxResult,
)
from jurist.service.evals.python_outcome import Outcome, interpret, json_object
from jurist.service.evals.python_probe import Protections, run_probe
from jurist.service.evals.python_sandbox_child.protocol import Request
from jurist.service.evals.python_source import MAX_SOURCE_BYTES, validate_source, validation_error

__all__ = [
    "ALL_PROTECTIONS",
    "BASELINE_PROTECTIONS",
    "GRADER_ERROR_KINDS",
    "MAX_SOURCE_BYTES",
    "SERVER_ERROR_KINDS",
    "STRICT_PROTECTIONS",
    "PythonSandbox",
    "SandboxLimits",
    "SandboxResult",
    "validate_source",
]

log = logging.getLogger(__name__)

_GROUP_GONE_WAIT = 1.0  # seconds to wait, after the kill, for the last process of the group to go
_TERM_GRACE = 1.0  # seconds the intermediate process gets to kill and reap the grader itself
_READ_CHUNK = 65536


class PythonSandbox:
    """Runs python graders, one fresh sandboxed child process per grade.

    ``required``: protections without which a grade is refused (``sandbox_unavailable``) rather than
    run with less; defaults to ``BASELINE_PROTECTIONS``. ``namespaces=False`` skips the Linux
    namespace steps (for hosts where they misbehave; everything else stays). ``import_paths``:
    directories (say, a site-packages with numpy) bound read-only into the sandbox and put on the
    grader's ``sys.path`` (a server running as root grades as ``nobody``, who must be able to read
    them); by default the grader has the standard library only.
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
        # The child is a directory, run by path (its __main__.py): python_sandbox_child/__init__.py.
        self.child_path = os.path.dirname(os.path.abspath(child.__file__))
        self._probe: Protections | None = None

    # ---------------------------------------------------------------- grading

    async def grade(self, source: str, sample: JSONObject, item: JSONObject) -> SandboxResult:
        """Run ``grade(sample, item)`` from ``source``. Never raises for the grader's own faults."""
        started = time.monotonic()
        invalid = validation_error(source)
        if invalid is not None:
            return SandboxResult(None, f"invalid_source: {invalid}", time.monotonic() - started)
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
        return interpret(outcome, self.limits, time.monotonic() - started)

    def _request(self, source: str, sample: JSONObject, item: JSONObject, *, probe: bool) -> bytes:
        request: Request = {
            "source": source,
            "sample": sample,
            "item": item,
            "limits": self.limits.to_child(),
            "required": list(self.required),
            "import_paths": list(self.import_paths),
            "namespaces": self.namespaces,
            "probe": probe,
        }
        return json.dumps(request).encode("utf-8")

    def _command(self) -> list[str]:
        return [self.python, "-I", "-S", "-B", self.child_path]

    def _cannot_start(self) -> str | None:
        if not self.python:
            return "no Python interpreter to run the sandbox with (sys.executable is empty)"
        if not os.path.isfile(os.path.join(self.child_path, "__main__.py")):
            return f"the sandbox child is missing: {self.child_path}"
        return None

    async def _run(self, payload: bytes, workdir: str) -> Outcome:
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
            while chunk := await stdout.read(_READ_CHUNK):
                output.extend(chunk)
                if not forked and b"\n" in output:
                    header = json_object(bytes(output.split(b"\n", 1)[0]))
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
        return Outcome(bytes(output), timed_out, overflowed, proc.returncode)

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

    # ---------------------------------------------------------------- reporting

    def protections(self) -> list[str]:
        """The protections a grade gets on this machine (runs one probe child, once; blocking: for
        ``jurist doctor`` and start-up checks, not for the event loop)."""
        return list(self._probe_once()[0])

    def unavailable_protections(self) -> dict[str, str]:
        """Each protection that is not active here, and why."""
        return dict(self._probe_once()[1])

    def _probe_once(self) -> Protections:
        if self._probe is None:
            unavailable = self._cannot_start()
            if unavailable:
                self._probe = [], {"sandbox": unavailable}
            else:
                request = self._request("", {}, {}, probe=True)
                self._probe = run_probe(self._command(), request, max(self.limits.timeout_seconds, 10.0))
        return self._probe
