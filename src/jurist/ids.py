"""Identifiers and the clock. IDs carry OpenAI-style prefixes (``chatcmpl-``, ``req_``)."""

from __future__ import annotations

import os
import time
from typing import Protocol


def new_id(prefix: str, nbytes: int = 12) -> str:
    """A random identifier such as ``chatcmpl-3f9a...``; ``prefix`` includes its separator."""
    return prefix + os.urandom(nbytes).hex()


def new_ids(prefix: str, count: int, nbytes: int = 12) -> list[str]:
    """``count`` identifiers from one read of the OS's random source (one syscall, not ``count``)."""
    pool = os.urandom(nbytes * count).hex()
    width = 2 * nbytes
    return [prefix + pool[i : i + width] for i in range(0, width * count, width)]


def chat_completion_id() -> str:
    return new_id("chatcmpl-")


def request_id() -> str:
    return new_id("req_")


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    def now(self) -> float:
        return time.time()
