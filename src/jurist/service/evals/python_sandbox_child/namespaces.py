"""Linux namespaces: ``unshare(2)`` into new network (nothing reachable, not even the host's loopback),
mount, PID, IPC and UTS namespaces, inside a new user namespace when not root; then a fork, so that the
grader is PID 1 of the new PID namespace and sees no other process."""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from .kernel import CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWUTS
from .protocol import (
    IPC_NAMESPACE,
    MINIMAL_ROOT,
    MOUNT_NAMESPACE,
    NETWORK_NAMESPACE,
    PID_NAMESPACE,
    USER_NAMESPACE,
)
from .state import SetUp


def enter_namespaces(state: SetUp) -> None:
    names = (USER_NAMESPACE, NETWORK_NAMESPACE, MOUNT_NAMESPACE, PID_NAMESPACE, IPC_NAMESPACE)
    if not state.use_namespaces or not sys.platform.startswith("linux"):
        why = "disabled by configuration" if not state.use_namespaces else f"Linux-only ({sys.platform})"
        for name in names:
            state.fail(name, why)
        return
    full = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    # Root needs no user namespace (and stays able to become nobody afterwards); an unprivileged
    # user gets one. A network namespace alone is the last resort.
    if state.is_root:
        attempts = [full, CLONE_NEWUSER | full, CLONE_NEWNET, CLONE_NEWUSER | CLONE_NEWNET]
    else:
        attempts = [CLONE_NEWUSER | full, CLONE_NEWUSER | CLONE_NEWNET]
    why = "unshare was not attempted"
    for flags in attempts:
        try:
            state.libc.load()
            state.libc.unshare(flags)
        except (OSError, AttributeError, ImportError) as exc:
            why = f"unshare: {exc}"
            continue
        state.flags = flags
        break
    if state.flags & CLONE_NEWUSER:
        try:
            _map_ids()
        except OSError as exc:  # the namespaces are real; the file-system set-up will fail and say so
            state.fail(MINIMAL_ROOT, f"user namespace id maps: {exc}")
    for flag, name in (
        (CLONE_NEWUSER, USER_NAMESPACE),
        (CLONE_NEWNET, NETWORK_NAMESPACE),
        (CLONE_NEWNS, MOUNT_NAMESPACE),
        (CLONE_NEWPID, PID_NAMESPACE),
        (CLONE_NEWIPC, IPC_NAMESPACE),
    ):
        if state.flags & flag:
            state.ok(name)
        elif flag == CLONE_NEWUSER and state.is_root and state.flags:
            state.fail(name, "not needed: running as root, which becomes nobody instead")
        else:
            state.fail(name, why)


def _map_ids() -> None:
    uid, gid = os.geteuid(), os.getegid()

    def write(path: str, text: str) -> None:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)

    with contextlib.suppress(FileNotFoundError):  # kernels before 3.19 have no setgroups file
        write("/proc/self/setgroups", "deny")
    write("/proc/self/uid_map", f"{uid} {uid} 1")
    write("/proc/self/gid_map", f"{gid} {gid} 1")


def fork_into_pid_namespace(state: SetUp) -> None:
    """The first child after unshare(CLONE_NEWPID) is PID 1 of the new namespace: become it."""
    if not state.flags & CLONE_NEWPID:
        return
    state.forked = True
    pid = os.fork()
    if pid == 0:
        return
    # The intermediate process: wait, then exit the way the grader did. Asked to stop (SIGTERM, the
    # parent's timeout), it kills the grader first and reaps it, so that no zombie is left behind
    # for whatever process would inherit it. It never returns and never writes to the result pipe.
    try:
        signal.signal(signal.SIGTERM, lambda signum, frame: os.kill(pid, signal.SIGKILL))
        status = 0
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            with contextlib.suppress(OSError, ValueError):  # SIGKILL has no handler to reset
                signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    finally:
        os._exit(70)
