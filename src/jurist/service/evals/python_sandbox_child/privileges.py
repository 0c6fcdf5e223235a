"""Privileges: root becomes ``nobody`` (65534), the bounding, ambient and all other capability sets are
emptied (``capset``), ``PR_SET_NO_NEW_PRIVS``; when the grader runs under an intermediate process, it is
SIGKILLed if that process dies."""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from .kernel import (
    CLONE_NEWUSER,
    EINVAL,
    LINUX_CAPABILITY_VERSION_3,
    PR_CAP_AMBIENT,
    PR_CAP_AMBIENT_CLEAR_ALL,
    PR_CAPBSET_DROP,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
)
from .protocol import CAPABILITIES_DROPPED, MINIMAL_ROOT, NO_NEW_PRIVS, UNPRIVILEGED_UID
from .state import SetUp

NOBODY = 65534


def drop_privileges(state: SetUp) -> None:
    linux = sys.platform.startswith("linux")
    if linux:
        # The bounding set first: dropping it needs CAP_SETPCAP, which becoming nobody takes away.
        with contextlib.suppress(OSError, AttributeError, ImportError):
            _drop_bounding_set(state)
    if state.is_root and not state.flags & CLONE_NEWUSER:
        _become_nobody(state)
    elif state.is_root:
        state.fail(UNPRIVILEGED_UID, "root in a user namespace that maps only uid 0")
    else:
        state.ok(UNPRIVILEGED_UID)
    if state.forked:
        state.libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after any uid change (which clears it)
    if not linux:
        state.fail(NO_NEW_PRIVS, "Linux-only")
        state.fail(CAPABILITIES_DROPPED, "Linux-only")
        return
    try:
        _drop_capabilities(state)
        state.ok(CAPABILITIES_DROPPED)
    except (OSError, AttributeError, ImportError) as exc:
        state.fail(CAPABILITIES_DROPPED, str(exc))
    try:
        state.libc.check("prctl(PR_SET_NO_NEW_PRIVS)", state.libc.prctl(PR_SET_NO_NEW_PRIVS, 1))
        state.ok(NO_NEW_PRIVS)
    except (OSError, AttributeError, ImportError) as exc:
        state.fail(NO_NEW_PRIVS, str(exc))


def _become_nobody(state: SetUp) -> None:
    if MINIMAL_ROOT not in state.active:
        # In the host's file system, nobody may not be able to read the standard library (say it
        # lives under /root): staying root is better than a grader that cannot import anything.
        for path in state.stdlib_paths:
            if os.path.exists(path) and not _world_readable(path):
                state.fail(UNPRIVILEGED_UID, f"nobody cannot read {path}: stays root")
                return
    try:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
    except (OSError, AttributeError) as exc:  # (no setresuid on macOS)
        state.fail(UNPRIVILEGED_UID, f"setresuid(nobody): {exc}")
        return
    state.ok(UNPRIVILEGED_UID)


def _world_readable(path: str) -> bool:
    current = os.path.realpath(path)
    while True:
        mode = os.stat(current).st_mode
        if mode & 0o005 != 0o005:
            return False
        parent = os.path.dirname(current)
        if parent == current:
            return True
        current = parent


def _drop_bounding_set(state: SetUp) -> None:
    """Best effort (needs CAP_SETPCAP): with no_new_privs and no exec it only adds depth."""
    import ctypes

    for cap in range(64):
        if state.libc.prctl(PR_CAPBSET_DROP, cap) != 0 and ctypes.get_errno() == EINVAL:  # no such cap
            break


def _drop_capabilities(state: SetUp) -> None:
    import ctypes

    libc = state.libc.load()
    state.libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [
            ("effective", ctypes.c_uint32),
            ("permitted", ctypes.c_uint32),
            ("inheritable", ctypes.c_uint32),
        ]

    header = Header(LINUX_CAPABILITY_VERSION_3, 0)
    data = (Data * 2)()
    state.libc.check("capset", libc.capset(ctypes.byref(header), ctypes.byref(data)))
    check = (Data * 2)()
    state.libc.check("capget", libc.capget(ctypes.byref(header), ctypes.byref(check)))
    if any(d.effective or d.permitted or d.inheritable for d in check):
        raise OSError("capabilities remain after capset")
