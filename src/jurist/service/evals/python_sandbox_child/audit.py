"""The last layer, and the only one that works everywhere: a ``sys.addaudithook`` hook refusing sockets,
processes, ``ctypes``, signals to other processes, every open for writing/creating and every
file-system change, code-object construction (``code.__new__``, ``marshal.loads``: the usual ways out of
an audit hook), sub-interpreters and rlimit changes. Audit hooks are NOT a security boundary (PEP 578).

The hook is generated with every constant written into its code as a literal: it reads no global, no
closure cell and no default argument (the grader could reach and change all three; a code object is
immutable and replacing ``__code__`` is itself an audited event it refuses). Builtins are looked up only
to raise: a grader that replaces them turns the refusal into another exception, still a refusal.
``"".__class__.startswith`` is ``str.startswith`` without a name lookup (and ignores what a str subclass
overrides); ``event in {...}`` with a literal set compiles to a frozenset constant."""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable
from typing import cast

AuditHook = Callable[[str, tuple[object, ...]], None]

# Opening with any of these is writing. (O_TMPFILE includes O_DIRECTORY: only its own bit counts, or
# every directory open would be refused.)
_WRITE_FLAGS = (
    os.O_WRONLY
    | os.O_RDWR
    | os.O_CREAT
    | os.O_TRUNC
    | os.O_APPEND
    | (getattr(os, "O_TMPFILE", 0) & ~getattr(os, "O_DIRECTORY", 0))
)

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


def make_audit_hook() -> AuditHook:
    namespace: dict[str, object] = {"__builtins__": builtins}
    exec(compile(_HOOK_SOURCE, "<sandbox audit hook>", "exec"), namespace)
    return cast(AuditHook, namespace["audit_hook"])
