"""The Linux kernel interface of the set-up: the ABI's numbers, and libc (``unshare``, ``mount``,
``prctl``, ``capset``) through ``ctypes``.

``ctypes`` is imported lazily, inside the functions that need it, and never kept in a module global:
the set-up's last step drops it from ``sys.modules`` and forgets the loaded libc, so that the grader
cannot reach it (and the audit hook refuses importing it again)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ctypes

# linux/sched.h, linux/mount.h, linux/prctl.h, linux/capability.h
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
EINVAL = 22
# Linux statvfs f_flag bits (ST_NOSUID, ST_NODEV, ST_NOEXEC, ST_NOATIME, ST_NODIRATIME, ST_RELATIME;
# literals: ``os`` has most of them on Linux only) a bind remount must keep: the kernel refuses to
# clear locked ones.
ST_RDONLY = 1
KEPT_MOUNT_FLAGS = (
    (2, MS_NOSUID),
    (4, MS_NODEV),
    (8, MS_NOEXEC),
    (1024, MS_NOATIME),
    (2048, MS_NODIRATIME),
    (4096, MS_RELATIME),
)


class Libc:
    """libc, loaded on first use; ``forget()`` drops it (the grader must not find it)."""

    def __init__(self) -> None:
        self._cdll: ctypes.CDLL | None = None

    def load(self) -> ctypes.CDLL:
        if self._cdll is None:
            import ctypes

            try:
                libc = ctypes.CDLL(None, use_errno=True)
                libc.unshare  # noqa: B018 - fails early where the symbol is missing
            except (OSError, AttributeError):
                libc = ctypes.CDLL("libc.so.6", use_errno=True)
            ulong, char_p, void_p = ctypes.c_ulong, ctypes.c_char_p, ctypes.c_void_p
            # Explicit types: prctl and mount take unsigned longs (a bare int leaves the upper half of
            # the register undefined, and prctl refuses non-zero unused arguments).
            for name, argtypes in (
                ("unshare", [ctypes.c_int]),
                ("mount", [char_p, char_p, char_p, ulong, char_p]),
                ("prctl", [ctypes.c_int, ulong, ulong, ulong, ulong]),
                ("capset", [void_p, void_p]),
                ("capget", [void_p, void_p]),
            ):
                function = getattr(libc, name)
                function.argtypes = argtypes
                function.restype = ctypes.c_int
            self._cdll = libc
        return self._cdll

    def forget(self) -> None:
        self._cdll = None

    @staticmethod
    def check(what: str, result: int) -> None:
        """An ``OSError`` from ``errno`` when a libc call returned non-zero."""
        if result != 0:
            import ctypes

            err = ctypes.get_errno()
            raise OSError(err, f"{what}: {os.strerror(err)}")

    def unshare(self, flags: int) -> None:
        unshare = getattr(os, "unshare", None)
        if unshare is not None:  # Python 3.12+
            unshare(flags)
        else:
            self.check("unshare", self.load().unshare(flags))

    def mount(
        self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None
    ) -> None:
        enc = os.fsencode
        self.check(
            f"mount {target}",
            self.load().mount(
                None if source is None else enc(source),
                enc(target),
                None if fstype is None else enc(fstype),
                flags,
                None if data is None else enc(data),
            ),
        )

    def prctl(self, option: int, arg: int) -> int:
        return int(self.load().prctl(option, arg, 0, 0, 0))
