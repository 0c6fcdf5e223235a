"""The child process of the ``python`` grader's sandbox: it runs ONE grade of caller-supplied code.

Started by ``python_grader.PythonSandbox`` as ``python -I -S -B <this file>`` (isolated mode, no
``site``: no site-packages, no ``PYTHON*`` variables, no user directories on ``sys.path``), with an
empty environment, a fresh empty temp dir as its cwd, stdin/stdout pipes only, in a session and process
group of its own. It imports the standard library only and must stay that way: it never imports
``jurist`` (``-S`` takes site-packages, and with it ``jurist``, off ``sys.path``; that is why it is run
by path and not with ``-m``).

Protocol. stdin: one JSON object ``{source, sample, item, limits, required, import_paths, namespaces,
probe}``. stdout: JSON lines. First ``{"ready": true, "protections": [...], "unavailable": {name: why},
"forked": bool}`` once
the sandbox is set up (or ``{"refused": why, ...}`` when a required protection could not be set up, or
``{"setup_error": why}``), then, unless probing, ``{"score": x}`` or ``{"error": "kind: detail"}``.

Set-up, in this order, all before a byte of the grader's code runs:

1. the stdout pipe is moved to a private descriptor; fds 0/1/2 become ``/dev/null`` (a grader's
   ``print`` cannot corrupt the protocol), the environment is cleared;
2. rlimits, soft = hard so they cannot be raised again: RLIMIT_CORE 0, RLIMIT_FSIZE (0: no file can
   grow; SIGXFSZ ignored so a write fails with EFBIG instead of killing), RLIMIT_NOFILE, RLIMIT_AS
   (memory), RLIMIT_CPU (soft; the hard limit is one second later and is a SIGKILL);
3. namespaces (Linux): ``unshare(2)`` (``os.unshare`` from Python 3.12, libc through ctypes before)
   into new network, mount, PID, IPC and UTS namespaces, inside a new user namespace when not root
   (root needs none, and then gives up root for ``nobody`` below). The network namespace has only a
   down loopback: nothing, not even the host's 127.0.0.1, is reachable;
4. a fork, so that the grader is PID 1 of the new PID namespace (it sees no other process; the
   intermediate process only waits and passes the exit status on; the grader is SIGKILLed if it dies);
5. a minimal root: a small tmpfs holding read-only bind mounts of ``/usr``, ``/bin``, ``/lib*``, the
   interpreter's own ``sys.path`` directories, ``/dev/{null,zero,random,urandom}`` and a private
   ``/proc``; the process moves into it (``MS_MOVE`` + ``chroot``) and every mount is remounted
   read-only. Home directories, ``/etc``, ``/tmp``, the server's data and config are not in it;
6. privileges: root becomes ``nobody`` (65534); the bounding, ambient and all other capability sets are
   emptied (``capset``); ``PR_SET_NO_NEW_PRIVS``; RLIMIT_NPROC (not enforced for uid 0, so it only
   counts when the grader is not root; with a user namespace it counts that namespace's tasks, threads
   included);
7. a ``sys.addaudithook`` hook refusing sockets, processes (``subprocess``, ``os.system``, ``os.exec*``,
   ``os.fork``, ``os.spawn*``, ``os.posix_spawn``), ``ctypes``, signals to other processes, every open
   for writing/creating and every file-system change, code-object construction (``code.__new__``,
   ``marshal.loads``: the usual ways out of an audit hook), sub-interpreters and rlimit changes. The hook
   reads nothing mutable (no globals, no closure; its constants are default arguments, which cannot be
   re-assigned without an audited ``object.__setattr__``). Audit hooks are NOT a security boundary
   (PEP 578); they are the last layer, and the only one that works everywhere.

A namespace step that is unavailable (no unprivileged user namespaces, a container without
CAP_SYS_ADMIN, not Linux) is skipped and reported under ``unavailable``; a protection the parent listed
in ``required`` that could not be set up makes the child refuse to run the grader at all.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import math
import os
import resource
import signal
import sys
from collections.abc import Callable
from typing import Any

# The names of the protections, as reported to the parent and by ``PythonSandbox.protections()``.
EMPTY_ENV = "empty_env"
FRESH_CWD = "fresh_cwd"
PROCESS_GROUP = "process_group"
RLIMIT_MEMORY = "rlimit_memory"
RLIMIT_CPU = "rlimit_cpu"
RLIMIT_NOFILE = "rlimit_nofile"
RLIMIT_FSIZE = "rlimit_fsize"
RLIMIT_CORE = "rlimit_core"
RLIMIT_NPROC = "rlimit_nproc"
USER_NAMESPACE = "user_namespace"
NETWORK_NAMESPACE = "network_namespace"
MOUNT_NAMESPACE = "mount_namespace"
PID_NAMESPACE = "pid_namespace"
IPC_NAMESPACE = "ipc_namespace"
MINIMAL_ROOT = "minimal_root"
READ_ONLY_FS = "read_only_fs"
UNPRIVILEGED_UID = "unprivileged_uid"
CAPABILITIES_DROPPED = "capabilities_dropped"
NO_NEW_PRIVS = "no_new_privs"
AUDIT_HOOK = "audit_hook"

ALL_PROTECTIONS = (
    EMPTY_ENV,
    FRESH_CWD,
    PROCESS_GROUP,
    RLIMIT_MEMORY,
    RLIMIT_CPU,
    RLIMIT_NOFILE,
    RLIMIT_FSIZE,
    RLIMIT_CORE,
    RLIMIT_NPROC,
    USER_NAMESPACE,
    NETWORK_NAMESPACE,
    MOUNT_NAMESPACE,
    PID_NAMESPACE,
    IPC_NAMESPACE,
    MINIMAL_ROOT,
    READ_ONLY_FS,
    UNPRIVILEGED_UID,
    CAPABILITIES_DROPPED,
    NO_NEW_PRIVS,
    AUDIT_HOOK,
)

# The kinds of error the child reports for the grader's own faults (the parent accepts no other kind
# from the child: the grader can write to the result pipe and must not be able to claim a server fault).
GRADER_ERROR_KINDS = ("runtime_error", "invalid_result", "timeout", "memory", "invalid_source")

NOBODY = 65534
READ_CHUNK = 1 << 16

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
# statvfs f_flag bits a bind remount must keep (the kernel refuses to clear locked ones).
_KEPT_MOUNT_FLAGS = (
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
)
# The host's top-level directories that hold programs and shared libraries (symlinks on merged-/usr
# systems are recreated as symlinks).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache",)
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")
# Bytecode is never read from a cache (it would need ``marshal.loads``, which the hook refuses).
NO_PYCACHE = "/nonexistent-jurist-grader-pycache"

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND | getattr(os, "O_TMPFILE", 0)


class CpuTimeExceeded(BaseException):
    """SIGXCPU: the grader used up its CPU-time limit."""


# Refused outright (the "open", "import" and "object.__setattr__" events are looked at more closely).
REFUSED_EVENTS = (
    "os.system",
    "os.fork",
    "os.forkpty",
    "os.kill",
    "os.killpg",
    "os.remove",
    "os.rename",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.chown",
    "os.chflags",
    "os.lchflags",
    "os.link",
    "os.symlink",
    "os.truncate",
    "os.utime",
    "os.setxattr",
    "os.removexattr",
    "os.startfile",
    "code.__new__",
    "marshal.load",
    "marshal.loads",
    "gc.get_objects",
    "gc.get_referrers",
    "gc.get_referents",
    "mmap.__new__",
    "fcntl.ioctl",
    "resource.setrlimit",
    "resource.prlimit",
    "signal.pthread_kill",
    "cpython.PyInterpreterState_New",
)
REFUSED_EVENT_PREFIXES = (
    "socket.",
    "subprocess.",
    "os.exec",
    "os.spawn",
    "os.posix_spawn",
    "ctypes.",
    "shutil.",
    "sqlite3.",
    "_winapi.",
    "winreg.",
    "msvcrt.",
)
REFUSED_MODULE_PREFIXES = (
    "ctypes",
    "_ctypes",
    "_posixsubprocess",
    "_xxsubinterpreters",
    "_xxinterpchannels",
    "_test",
    "_xxtestfuzz",
)

# The hook is generated with every constant written into its code as a literal: it reads no global, no
# closure cell and no default argument (the grader could reach and change all three; a code object is
# immutable and replacing ``__code__`` is itself an audited event it refuses). Builtins are looked up
# only to raise: a grader that replaces them turns the refusal into another exception, still a refusal.
# ``"".__class__.startswith`` is ``str.startswith`` without a name lookup (and ignores what a str
# subclass overrides); ``event in {...}`` with a literal set compiles to a frozenset constant.
_HOOK_SOURCE = f"""
def audit_hook(event, args):
    if event == "open":
        if args[2] & {_WRITE_FLAGS}:
            raise PermissionError("the python grader sandbox refuses to open files for writing")
        return
    if event == "import":
        if "".__class__.startswith(args[0], {REFUSED_MODULE_PREFIXES!r}):
            raise ImportError("the python grader sandbox refuses to import " + args[0])
        return
    if event == "object.__setattr__":
        if args[1] == "__code__":
            raise PermissionError("the python grader sandbox refuses to replace a function's code")
        return
    if event in {{{", ".join(map(repr, REFUSED_EVENTS))}}} or event.startswith({REFUSED_EVENT_PREFIXES!r}):
        raise PermissionError("the python grader sandbox refuses " + event)
"""


def make_audit_hook() -> Callable[[str, tuple[Any, ...]], None]:
    namespace: dict[str, Any] = {"__builtins__": builtins}
    exec(compile(_HOOK_SOURCE, "<sandbox audit hook>", "exec"), namespace)
    hook: Callable[[str, tuple[Any, ...]], None] = namespace["audit_hook"]
    return hook


class _Sandbox:
    """Builds the protections of one child, recording what is active and why anything is not."""

    def __init__(self, request: dict[str, Any]) -> None:
        limits = request.get("limits") or {}
        self.memory_bytes = int(limits.get("memory_bytes", 512 << 20))
        self.cpu_seconds = int(limits.get("cpu_seconds", 10))
        self.max_open_files = int(limits.get("max_open_files", 64))
        self.max_file_bytes = int(limits.get("max_file_bytes", 0))
        self.max_processes = int(limits.get("max_processes", 64))
        self.import_paths = [str(p) for p in request.get("import_paths") or () if os.path.isabs(str(p))]
        self.use_namespaces = bool(request.get("namespaces", True))
        self.active: list[str] = []
        self.unavailable: dict[str, str] = {}
        self.libc: Any = None
        self.flags = 0  # the namespaces the child is in
        self.forked = False
        self.is_root = os.geteuid() == 0
        self.stdlib_paths = [p for p in sys.path if p and os.path.isabs(p)]

    def ok(self, name: str) -> None:
        if name not in self.active:
            self.active.append(name)

    def fail(self, name: str, why: str) -> None:
        self.unavailable.setdefault(name, why)

    # ---------------------------------------------------------------- rlimits

    def _setrlimit(self, name: str, which: int, soft: int, hard: int | None = None) -> bool:
        hard = soft if hard is None else hard
        try:
            _, current_hard = resource.getrlimit(which)
            if current_hard != resource.RLIM_INFINITY:
                hard = min(hard, current_hard)
                soft = min(soft, hard)
            resource.setrlimit(which, (soft, hard))
        except (OSError, ValueError) as exc:
            self.fail(name, f"setrlimit: {exc}")
            return False
        return True

    def rlimits(self) -> None:
        if self._setrlimit(RLIMIT_CORE, resource.RLIMIT_CORE, 0):
            self.ok(RLIMIT_CORE)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        if self._setrlimit(RLIMIT_FSIZE, resource.RLIMIT_FSIZE, self.max_file_bytes):
            self.ok(RLIMIT_FSIZE)
        if self._setrlimit(RLIMIT_NOFILE, resource.RLIMIT_NOFILE, self.max_open_files):
            self.ok(RLIMIT_NOFILE)
        if self._setrlimit(RLIMIT_CPU, resource.RLIMIT_CPU, self.cpu_seconds, self.cpu_seconds + 1):
            self.ok(RLIMIT_CPU)
        if sys.platform == "darwin":
            self.fail(RLIMIT_MEMORY, "RLIMIT_AS is accepted but not enforced on macOS")
        elif self._setrlimit(RLIMIT_MEMORY, resource.RLIMIT_AS, self.memory_bytes):
            self.ok(RLIMIT_MEMORY)

    def nproc(self) -> None:
        """After the fork (our own fork must not count against it)."""
        if not self._setrlimit(RLIMIT_NPROC, resource.RLIMIT_NPROC, self.max_processes):
            return
        if UNPRIVILEGED_UID in self.active:
            self.ok(RLIMIT_NPROC)
        else:
            self.fail(RLIMIT_NPROC, "set, but the kernel does not enforce RLIMIT_NPROC for uid 0")

    # ---------------------------------------------------------------- libc

    def _load_libc(self) -> Any:
        if self.libc is None:
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
            self.libc = libc
        return self.libc

    def _call(self, what: str, result: int) -> None:
        if result != 0:
            import ctypes

            err = ctypes.get_errno()
            raise OSError(err, f"{what}: {os.strerror(err)}")

    def _mount(
        self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None
    ) -> None:
        libc = self._load_libc()
        enc = os.fsencode
        self._call(
            f"mount {target}",
            libc.mount(
                None if source is None else enc(source),
                enc(target),
                None if fstype is None else enc(fstype),
                flags,
                None if data is None else enc(data),
            ),
        )

    def _prctl(self, option: int, arg: int) -> int:
        return int(self._load_libc().prctl(option, arg, 0, 0, 0))

    # ---------------------------------------------------------------- namespaces

    def _unshare(self, flags: int) -> None:
        unshare = getattr(os, "unshare", None)
        if unshare is not None:  # Python 3.12+
            unshare(flags)
        else:
            self._call("unshare", self._load_libc().unshare(flags))

    def namespaces(self) -> None:
        names = (USER_NAMESPACE, NETWORK_NAMESPACE, MOUNT_NAMESPACE, PID_NAMESPACE, IPC_NAMESPACE)
        if not self.use_namespaces or not sys.platform.startswith("linux"):
            why = "disabled by configuration" if not self.use_namespaces else f"Linux-only ({sys.platform})"
            for name in names:
                self.fail(name, why)
            return
        full = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
        # Root needs no user namespace (and stays able to become nobody afterwards); an unprivileged
        # user gets one. A network namespace alone is the last resort.
        if self.is_root:
            attempts = [full, CLONE_NEWUSER | full, CLONE_NEWNET, CLONE_NEWUSER | CLONE_NEWNET]
        else:
            attempts = [CLONE_NEWUSER | full, CLONE_NEWUSER | CLONE_NEWNET]
        why = "unshare was not attempted"
        for flags in attempts:
            try:
                self._load_libc()
                self._unshare(flags)
            except (OSError, AttributeError, ImportError) as exc:
                why = f"unshare: {exc}"
                continue
            self.flags = flags
            break
        if self.flags & CLONE_NEWUSER:
            try:
                self._map_ids()
            except OSError as exc:  # the namespaces are real; the file-system set-up will fail and say so
                self.fail(MINIMAL_ROOT, f"user namespace id maps: {exc}")
        for flag, name in (
            (CLONE_NEWUSER, USER_NAMESPACE),
            (CLONE_NEWNET, NETWORK_NAMESPACE),
            (CLONE_NEWNS, MOUNT_NAMESPACE),
            (CLONE_NEWPID, PID_NAMESPACE),
            (CLONE_NEWIPC, IPC_NAMESPACE),
        ):
            if self.flags & flag:
                self.ok(name)
            elif flag == CLONE_NEWUSER and self.is_root and self.flags:
                self.fail(name, "not needed: running as root, which becomes nobody instead")
            else:
                self.fail(name, why)

    def _map_ids(self) -> None:
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

    def fork_into_pid_namespace(self) -> None:
        """The first child after unshare(CLONE_NEWPID) is PID 1 of the new namespace: become it."""
        if not self.flags & CLONE_NEWPID:
            return
        self.forked = True
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

    # ---------------------------------------------------------------- file system

    def file_system(self) -> None:
        if not self.flags & CLONE_NEWNS:
            self.fail(MINIMAL_ROOT, "no mount namespace")
            self.fail(READ_ONLY_FS, "no mount namespace")
            return
        try:
            self._mount(None, "/", None, MS_REC | MS_PRIVATE, None)
        except OSError as exc:
            self.fail(MINIMAL_ROOT, f"making the mounts private: {exc}")
            self.fail(READ_ONLY_FS, f"making the mounts private: {exc}")
            return
        try:
            self._minimal_root()
        except OSError as exc:
            self.fail(MINIMAL_ROOT, str(exc))
            self.fail(READ_ONLY_FS, "no minimal root")

    def _minimal_root(self) -> None:
        new_root = os.path.realpath(os.getcwd())  # the parent's fresh, empty temp dir
        self._mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=4096,mode=0755")
        mounts = ["/"]  # mount points inside the new root, to remount read-only
        symlinks: list[tuple[str, str]] = []
        wanted: list[str] = []
        for path in SYSTEM_DIRS:
            if os.path.islink(path):
                symlinks.append((path, os.readlink(path)))
            elif os.path.isdir(path):
                wanted.append(path)
        for path in [*self.stdlib_paths, *self.import_paths]:
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
            self._bind(source, new_root + path, os.path.isdir(source))
            bound.append(path)
            mounts.append(path)
        os.mkdir(new_root + "/dev", 0o755)
        for device in DEVICES:
            try:
                self._bind(device, new_root + device, False)
                mounts.append(device)
            except OSError:
                pass  # a missing /dev/random is no reason to fail; Python uses getrandom(2)
        for link, target in symlinks:
            if not os.path.lexists(new_root + link):
                os.symlink(target, new_root + link)
        if self.flags & CLONE_NEWPID:
            os.mkdir(new_root + "/proc", 0o555)
            try:
                self._mount("proc", new_root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
                mounts.append("/proc")
            except OSError:
                pass  # (containers that mask parts of /proc refuse a new proc) no /proc at all then
        os.chdir(new_root)
        self._mount(new_root, "/", None, MS_MOVE, None)
        os.chroot(".")
        os.chdir("/")
        self.ok(MINIMAL_ROOT)
        for point in reversed(mounts):
            try:
                kept = os.statvfs(point).f_flag
                flags = MS_REMOUNT | MS_BIND | MS_RDONLY
                flags |= sum(ms for st, ms in _KEPT_MOUNT_FLAGS if kept & st)
                self._mount(None, point, None, flags, None)
            except OSError as exc:
                self.fail(READ_ONLY_FS, f"remounting {point} read-only: {exc}")
        if all(os.statvfs(p).f_flag & os.ST_RDONLY for p in mounts if not p.startswith("/dev/")):
            self.ok(READ_ONLY_FS)
        else:
            self.fail(READ_ONLY_FS, "a mount stayed writable")

    def _bind(self, source: str, target: str, is_dir: bool) -> None:
        if is_dir:
            os.makedirs(target, 0o755, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
        self._mount(source, target, None, MS_BIND, None)

    # ---------------------------------------------------------------- privileges

    def privileges(self) -> None:
        linux = sys.platform.startswith("linux")
        if linux:
            # The bounding set first: dropping it needs CAP_SETPCAP, which becoming nobody takes away.
            with contextlib.suppress(OSError, AttributeError, ImportError):
                self._drop_bounding_set()
        if self.is_root and not self.flags & CLONE_NEWUSER:
            self._become_nobody()
        elif self.is_root:
            self.fail(UNPRIVILEGED_UID, "root in a user namespace that maps only uid 0")
        else:
            self.ok(UNPRIVILEGED_UID)
        if self.forked:
            self._prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after any uid change (which clears it)
        if not linux:
            self.fail(NO_NEW_PRIVS, "Linux-only")
            self.fail(CAPABILITIES_DROPPED, "Linux-only")
            return
        try:
            self._drop_capabilities()
            self.ok(CAPABILITIES_DROPPED)
        except (OSError, AttributeError, ImportError) as exc:
            self.fail(CAPABILITIES_DROPPED, str(exc))
        try:
            self._call("prctl(PR_SET_NO_NEW_PRIVS)", self._prctl(PR_SET_NO_NEW_PRIVS, 1))
            self.ok(NO_NEW_PRIVS)
        except (OSError, AttributeError, ImportError) as exc:
            self.fail(NO_NEW_PRIVS, str(exc))

    def _become_nobody(self) -> None:
        if MINIMAL_ROOT not in self.active:
            # In the host's file system, nobody may not be able to read the standard library (say it
            # lives under /root): staying root is better than a grader that cannot import anything.
            for path in self.stdlib_paths:
                if os.path.exists(path) and not _world_readable(path):
                    self.fail(UNPRIVILEGED_UID, f"nobody cannot read {path}: stays root")
                    return
        try:
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
        except OSError as exc:
            self.fail(UNPRIVILEGED_UID, f"setresuid(nobody): {exc}")
            return
        self.ok(UNPRIVILEGED_UID)

    def _drop_bounding_set(self) -> None:
        """Best effort (needs CAP_SETPCAP): with no_new_privs and no exec it only adds depth."""
        import ctypes

        for cap in range(64):
            if self._prctl(PR_CAPBSET_DROP, cap) != 0 and ctypes.get_errno() == 22:  # EINVAL: no such cap
                break

    def _drop_capabilities(self) -> None:
        import ctypes

        libc = self._load_libc()
        self._prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)

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
        self._call("capset", libc.capset(ctypes.byref(header), ctypes.byref(data)))
        check = (Data * 2)()
        self._call("capget", libc.capget(ctypes.byref(header), ctypes.byref(check)))
        if any(d.effective or d.permitted or d.inheritable for d in check):
            raise OSError("capabilities remain after capset")

    # ---------------------------------------------------------------- python

    def python(self) -> None:
        for name in [m for m in sys.modules if m == "ctypes" or m.startswith(("ctypes.", "_ctypes"))]:
            del sys.modules[name]
        self.libc = None
        sys.dont_write_bytecode = True
        sys.pycache_prefix = NO_PYCACHE
        sys.path[:] = [*self.stdlib_paths, *self.import_paths]
        signal.signal(signal.SIGXCPU, _on_sigxcpu)
        sys.addaudithook(make_audit_hook())
        self.ok(AUDIT_HOOK)


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


def _on_sigxcpu(signum: int, frame: object) -> None:
    raise CpuTimeExceeded()


def _emit(fd: int, message: dict[str, Any]) -> None:
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


def run_grader(source: str, sample: Any, item: Any, cpu_seconds: int, message_chars: int) -> dict[str, Any]:
    """Run the grader's code and return ``{"score": x}`` or ``{"error": "kind: detail"}``."""
    namespace: dict[str, Any] = {"__name__": "__grader__", "__builtins__": builtins}
    try:
        exec(compile(source, "<grader>", "exec", dont_inherit=True), namespace)
        grade = namespace.get("grade")
        if not callable(grade):
            return {"error": "invalid_source: the source defines no function grade(sample, item)"}
        value = grade(sample, item)
    except CpuTimeExceeded:
        return {"error": f"timeout: the grader used more than {cpu_seconds} s of CPU time"}
    except MemoryError as exc:
        return {"error": "memory: " + _exception_message(exc, message_chars)}
    except BaseException as exc:
        return {"error": "runtime_error: " + _exception_message(exc, message_chars)}
    if type(value) is bool or not isinstance(value, int | float):
        kind = "a bool, not a number" if type(value) is bool else type(value).__name__
        return {"error": f"invalid_result: returned {_describe(value, 200)} ({kind})"}
    try:
        score = float(value)
    except (OverflowError, ValueError, TypeError):
        return {"error": f"invalid_result: returned {_describe(value, 200)} (not representable as a float)"}
    if not math.isfinite(score):
        return {"error": f"invalid_result: returned {score!r} (not a finite number)"}
    return {"score": score}


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
        request = json.loads(b"".join(chunks))
        sandbox = _Sandbox(request)
        # Python's locale coercion may add LC_CTYPE to an empty environment: anything else came in.
        if set(os.environ) <= {"LC_CTYPE"}:
            sandbox.ok(EMPTY_ENV)
        else:
            sandbox.fail(EMPTY_ENV, "the child was started with environment variables")
        os.environ.clear()
        if not os.listdir("."):
            sandbox.ok(FRESH_CWD)
        else:
            sandbox.fail(FRESH_CWD, "the working directory is not empty")
        if os.getpgrp() == os.getpid() and os.getsid(0) == os.getpid():
            sandbox.ok(PROCESS_GROUP)
        else:
            sandbox.fail(PROCESS_GROUP, "not started in a session of its own")
        sandbox.rlimits()
        sandbox.namespaces()
        sandbox.fork_into_pid_namespace()
        sandbox.file_system()
        sandbox.privileges()
        sandbox.nproc()
        sandbox.python()
    except BaseException as exc:  # a broken set-up is the server's fault, never the grader's
        _emit(out, {"setup_error": f"{type(exc).__name__}: {exc}"})
        os._exit(0)
    required = [str(name) for name in request.get("required") or ()]
    missing = [name for name in required if name not in sandbox.active]
    report: dict[str, Any] = {
        "protections": sandbox.active,
        "unavailable": sandbox.unavailable,
        "forked": sandbox.forked,
    }
    if missing:
        why = "; ".join(f"{name} ({sandbox.unavailable.get(name, 'not set up')})" for name in missing)
        _emit(out, {"refused": f"required protections are unavailable: {why}", **report})
        os._exit(0)
    _emit(out, {"ready": True, **report})
    if request.get("probe"):
        os._exit(0)
    limits = request.get("limits") or {}
    result = run_grader(
        str(request.get("source", "")),
        request.get("sample"),
        request.get("item"),
        sandbox.cpu_seconds,
        int(limits.get("max_message_chars", 2000)),
    )
    try:
        _emit(out, result)
    except BaseException:
        _emit(out, {"error": "invalid_result: the result could not be reported"})
    os._exit(0)  # no interpreter finalisation: the grader's atexit handlers and finalisers never run


if __name__ == "__main__":
    main()
