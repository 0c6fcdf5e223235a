"""What one python grade may use, which protections it must have, and what it gives back: the
``SandboxLimits``, the protection sets a deployment can require, and the ``SandboxResult`` with its
error kinds (the grader's own faults apart from this server's)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from jurist.service.evals.python_sandbox_child import protocol as child
from jurist.service.evals.python_sandbox_child.protocol import Limits

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


@dataclass(frozen=True)
class SandboxLimits:
    """The limits of one grade. Hosted OpenAI allowed 2 min and 2 GB; these defaults are a server's."""

    timeout_seconds: float = 10.0  # wall clock, from start to result; then the process group is killed
    memory_bytes: int = 512 * MiB  # RLIMIT_AS: address space, so it also bounds thread stacks
    # RLIMIT_CPU (SIGXCPU, then SIGKILL one second later); None: the timeout, rounded up
    cpu_seconds: int | None = None
    max_open_files: int = 64  # RLIMIT_NOFILE
    max_file_bytes: int = 0  # RLIMIT_FSIZE: no file may grow (the file system is read-only anyway)
    max_processes: int = 64  # RLIMIT_NPROC (threads count); forks are refused anyway
    max_output_bytes: int = 64 * 1024  # what the child may write back before it is killed
    max_message_chars: int = 2000  # an error message from the grader is cut to this

    def __post_init__(self) -> None:
        checks = (
            ("timeout_seconds", self.timeout_seconds > 0),
            ("memory_bytes", self.memory_bytes >= 64 * MiB),
            ("cpu_seconds", self.cpu_seconds is None or self.cpu_seconds >= 1),
            ("max_open_files", self.max_open_files >= 16),
            ("max_file_bytes", self.max_file_bytes >= 0),
            ("max_processes", self.max_processes >= 1),
            ("max_output_bytes", self.max_output_bytes >= 4096),
            ("max_message_chars", self.max_message_chars >= 80),
        )
        for name, ok in checks:
            if not ok:
                raise ValueError(f"SandboxLimits.{name} is out of range: {getattr(self, name)!r}")

    @property
    def cpu_limit(self) -> int:
        """The CPU-time limit in whole seconds."""
        return self.cpu_seconds if self.cpu_seconds is not None else max(1, math.ceil(self.timeout_seconds))

    def to_child(self) -> Limits:
        return {
            "memory_bytes": self.memory_bytes,
            "cpu_seconds": self.cpu_limit,
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
