"""The minimal root file system: a small tmpfs holding read-only bind mounts of the host's programs and
shared libraries, the interpreter's own ``sys.path`` directories (and the parent's ``import_paths``), a
few devices and a private ``/proc``. The process moves into it (``MS_MOVE`` + ``chroot``) and every
mount is remounted read-only. Home directories, ``/etc`` (but ``ld.so.cache``), ``/tmp``, the server's
data and config are not in it. Needs a mount namespace."""

from __future__ import annotations

import os

from .kernel import (
    CLONE_NEWNS,
    CLONE_NEWPID,
    KEPT_MOUNT_FLAGS,
    MS_BIND,
    MS_MOVE,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    ST_RDONLY,
)
from .protocol import MINIMAL_ROOT, READ_ONLY_FS
from .state import SetUp

# The host's top-level directories that hold programs and shared libraries (symlinks on merged-/usr
# systems are recreated as symlinks).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache",)
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")


def build_file_system(state: SetUp) -> None:
    if not state.flags & CLONE_NEWNS:
        state.fail(MINIMAL_ROOT, "no mount namespace")
        state.fail(READ_ONLY_FS, "no mount namespace")
        return
    try:
        state.libc.mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    except OSError as exc:
        state.fail(MINIMAL_ROOT, f"making the mounts private: {exc}")
        state.fail(READ_ONLY_FS, f"making the mounts private: {exc}")
        return
    try:
        _minimal_root(state)
    except OSError as exc:
        state.fail(MINIMAL_ROOT, str(exc))
        state.fail(READ_ONLY_FS, "no minimal root")


def _minimal_root(state: SetUp) -> None:
    libc = state.libc
    new_root = os.path.realpath(os.getcwd())  # the parent's fresh, empty temp dir
    libc.mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=4096,mode=0755")
    mounts = ["/"]  # mount points inside the new root, to remount read-only
    symlinks: list[tuple[str, str]] = []
    wanted: list[str] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            symlinks.append((path, os.readlink(path)))
        elif os.path.isdir(path):
            wanted.append(path)
    for path in [*state.stdlib_paths, *state.import_paths]:
        if os.path.exists(path):
            wanted.append(os.path.realpath(path))
            top = "/" + path.lstrip("/").split("/", 1)[0]
            if os.path.realpath(path) != path and not os.path.islink(top):
                wanted.append(path)  # also where sys.path names it
    wanted.extend(p for p in SYSTEM_FILES if os.path.isfile(p))
    bound: list[str] = []
    for path in sorted(set(wanted), key=len):
        if any(path == b or path.startswith(b.rstrip("/") + "/") for b in bound):
            continue
        source = os.path.realpath(path)
        _bind(state, source, new_root + path, os.path.isdir(source))
        bound.append(path)
        mounts.append(path)
    os.mkdir(new_root + "/dev", 0o755)
    for device in DEVICES:
        try:
            _bind(state, device, new_root + device, False)
            mounts.append(device)
        except OSError:
            pass  # a missing /dev/random is no reason to fail; Python uses getrandom(2)
    for link, target in symlinks:
        if not os.path.lexists(new_root + link):
            os.symlink(target, new_root + link)
    if state.flags & CLONE_NEWPID:
        os.mkdir(new_root + "/proc", 0o555)
        try:
            libc.mount("proc", new_root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
            mounts.append("/proc")
        except OSError:
            pass  # (containers that mask parts of /proc refuse a new proc) no /proc at all then
    os.chdir(new_root)
    libc.mount(new_root, "/", None, MS_MOVE, None)
    os.chroot(".")
    os.chdir("/")
    state.ok(MINIMAL_ROOT)
    _remount_read_only(state, mounts)


def _remount_read_only(state: SetUp, mounts: list[str]) -> None:
    writable = []
    for point in reversed(mounts):
        try:
            kept = os.statvfs(point).f_flag
            flags = MS_REMOUNT | MS_BIND | MS_RDONLY
            flags |= sum(ms for st, ms in KEPT_MOUNT_FLAGS if kept & st)
            state.libc.mount(None, point, None, flags, None)
        except OSError as exc:
            if not point.startswith("/dev/"):  # (a device node's mount flag changes nothing)
                writable.append(f"{point} ({exc})")
        else:
            if not point.startswith("/dev/") and not os.statvfs(point).f_flag & ST_RDONLY:
                writable.append(f"{point} (still writable after the remount)")
    if writable:
        state.fail(READ_ONLY_FS, "not read-only: " + ", ".join(writable))
    else:
        state.ok(READ_ONLY_FS)


def _bind(state: SetUp, source: str, target: str, is_dir: bool) -> None:
    if is_dir:
        os.makedirs(target, 0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    state.libc.mount(source, target, None, MS_BIND, None)
