"""One child's set-up as it goes: the limits it was asked for, what it is in (namespaces, a fork), and
each protection that is active or, with why, unavailable. Every step reads and records here."""

from __future__ import annotations

import os
import sys

from .kernel import Libc
from .protocol import EMPTY_ENV, FRESH_CWD, PROCESS_GROUP, Limits, Request


class SetUp:
    """Builds the protections of one child, recording what is active and why anything is not."""

    def __init__(self, request: Request) -> None:
        limits: Limits = request.get("limits") or {}
        self.memory_bytes = int(limits.get("memory_bytes", 512 << 20))
        self.cpu_seconds = int(limits.get("cpu_seconds", 10))
        self.max_open_files = int(limits.get("max_open_files", 64))
        self.max_file_bytes = int(limits.get("max_file_bytes", 0))
        self.max_processes = int(limits.get("max_processes", 64))
        self.max_message_chars = int(limits.get("max_message_chars", 2000))
        self.import_paths = [str(p) for p in request.get("import_paths") or () if os.path.isabs(str(p))]
        self.use_namespaces = bool(request.get("namespaces", True))
        self.active: list[str] = []
        self.unavailable: dict[str, str] = {}
        self.libc = Libc()
        self.flags = 0  # the namespaces the child is in (CLONE_NEW* bits)
        self.forked = False
        self.is_root = os.geteuid() == 0
        self.stdlib_paths = [p for p in sys.path if p and os.path.isabs(p)]

    def ok(self, name: str) -> None:
        if name not in self.active:
            self.active.append(name)

    def fail(self, name: str, why: str) -> None:
        self.unavailable.setdefault(name, why)

    def check_start(self) -> None:
        """What the parent set up by how it started the child; the environment is cleared here."""
        # Python's locale coercion may add LC_CTYPE to an empty environment: anything else came in.
        if set(os.environ) <= {"LC_CTYPE"}:
            self.ok(EMPTY_ENV)
        else:
            self.fail(EMPTY_ENV, "the child was started with environment variables")
        os.environ.clear()
        if not os.listdir("."):
            self.ok(FRESH_CWD)
        else:
            self.fail(FRESH_CWD, "the working directory is not empty")
        if os.getpgrp() == os.getpid() and os.getsid(0) == os.getpid():
            self.ok(PROCESS_GROUP)
        else:
            self.fail(PROCESS_GROUP, "not started in a session of its own")

    def missing(self, required: list[str]) -> str | None:
        """Why the grader must not run: the required protections that are not active (None: all are)."""
        absent = [name for name in required if name not in self.active]
        if not absent:
            return None
        why = "; ".join(f"{name} ({self.unavailable.get(name, 'not set up')})" for name in absent)
        return f"required protections are unavailable: {why}"
