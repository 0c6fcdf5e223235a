"""Resource limits, soft = hard so that they cannot be raised again: no core dumps, no file may grow
(SIGXFSZ ignored: a write fails with EFBIG instead of killing), open files, CPU time (SIGXCPU at the
soft limit, SIGKILL one second later at the hard one), memory (RLIMIT_AS), and, after the fork, the
number of processes."""

from __future__ import annotations

import resource
import signal
import sys

from .protocol import (
    RLIMIT_CORE,
    RLIMIT_CPU,
    RLIMIT_FSIZE,
    RLIMIT_MEMORY,
    RLIMIT_NOFILE,
    RLIMIT_NPROC,
    UNPRIVILEGED_UID,
)
from .state import SetUp


def _setrlimit(state: SetUp, name: str, which: int, soft: int, hard: int | None = None) -> bool:
    hard = soft if hard is None else hard
    try:
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            hard = min(hard, current_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))
    except (OSError, ValueError) as exc:
        state.fail(name, f"setrlimit: {exc}")
        return False
    return True


def apply_rlimits(state: SetUp) -> None:
    if _setrlimit(state, RLIMIT_CORE, resource.RLIMIT_CORE, 0):
        state.ok(RLIMIT_CORE)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    if _setrlimit(state, RLIMIT_FSIZE, resource.RLIMIT_FSIZE, state.max_file_bytes):
        state.ok(RLIMIT_FSIZE)
    if _setrlimit(state, RLIMIT_NOFILE, resource.RLIMIT_NOFILE, state.max_open_files):
        state.ok(RLIMIT_NOFILE)
    if _setrlimit(state, RLIMIT_CPU, resource.RLIMIT_CPU, state.cpu_seconds, state.cpu_seconds + 1):
        state.ok(RLIMIT_CPU)
    if sys.platform == "darwin":
        state.fail(RLIMIT_MEMORY, "RLIMIT_AS is accepted but not enforced on macOS")
    elif _setrlimit(state, RLIMIT_MEMORY, resource.RLIMIT_AS, state.memory_bytes):
        state.ok(RLIMIT_MEMORY)


def limit_processes(state: SetUp) -> None:
    """After the fork (our own fork must not count against it) and the change of uid."""
    if not _setrlimit(state, RLIMIT_NPROC, resource.RLIMIT_NPROC, state.max_processes):
        return
    if UNPRIVILEGED_UID in state.active:
        state.ok(RLIMIT_NPROC)
    else:
        state.fail(RLIMIT_NPROC, "set, but the kernel does not enforce RLIMIT_NPROC for uid 0")
