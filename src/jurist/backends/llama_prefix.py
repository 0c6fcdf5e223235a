"""Prompt prefixes kept in the KV cache of the batching engine, so that the judge instructions shared by
many items (same mode, criteria, scene, language, scale), the item shared by the two games of a swap,
and the whole prompt shared by the samples of an ensemble are evaluated once.

Each entry is a sequence of its own in llama.cpp's unified KV cache holding positions ``[0, n)`` of one
token prefix; ``llama_memory_seq_cp`` shares those cells with a new sequence at no cost (no copy, no
memory). Entries are made at **boundaries**: where a new prompt stops agreeing with a prompt seen before
(the longest common token prefix), the prompt's evaluation pauses, the prefix so far becomes an entry,
and later prompts that begin with exactly that entry copy it. An entry is only ever copied whole: with
Gemma's sliding-window layers (``swa_full = false``) cells more than a window behind an entry's end may
be reused by llama.cpp, so a shorter part of an entry is not safe to copy.

Least recently used entries are dropped past ``capacity`` (each holds a sequence id), and all of them
when the cache runs out of cells.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from llama_cpp import llama_cpp as C

MIN_PREFIX = 48  # tokens: a shorter shared prefix is not worth a sequence
MAX_BOUNDARIES = 3  # entries one prompt may make


@dataclass
class PrefixStats:
    evaluated: int = 0  # prompt tokens run through the model
    reused: int = 0  # prompt tokens copied from a cached prefix instead
    entries_made: int = 0


@dataclass(frozen=True)
class _Entry:
    seq: int
    tokens: np.ndarray[Any, np.dtype[np.int32]]


def common_prefix(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> int:
    n = min(len(a), len(b))
    diff = np.flatnonzero(a[:n] != b[:n])
    return int(diff[0]) if diff.size else n


class PrefixCache:
    """Entries in sequence ids ``first_seq .. first_seq + capacity - 1`` of ``memory``."""

    def __init__(
        self, memory: Any, first_seq: int, capacity: int, stats: PrefixStats | None = None, recent: int = 32
    ) -> None:
        self._mem = memory
        self._free = list(range(first_seq + capacity - 1, first_seq - 1, -1))
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._recent: list[np.ndarray[Any, np.dtype[np.int32]]] = []  # prompts seen, for boundaries
        self._recent_max = recent
        self.stats = stats or PrefixStats()

    def plan(
        self, prompt: np.ndarray[Any, np.dtype[np.int32]], waiting: Sequence[np.ndarray[Any, Any]] = ()
    ) -> tuple[int | None, int, list[int]]:
        """For a new prompt: (the entry's sequence to copy or None, its length, the boundaries past it
        where the evaluation should pause to make new entries). ``waiting``: prompts queued behind
        this one, which will share what it makes. A boundary is where the prompt stops agreeing with
        another (the instructions items share; the item the two games of a swap share; the whole
        prompt of an ensemble's samples): at most ``MAX_BOUNDARIES``, the shortest first. At least the
        prompt's last token is always evaluated (its logits choose the first answer token)."""
        limit = len(prompt) - 1
        best: _Entry | None = None
        found = b""
        for key, entry in self._entries.items():
            n = len(entry.tokens)
            if (
                n <= limit
                and (best is None or n > len(best.tokens))
                and np.array_equal(prompt[:n], entry.tokens)
            ):
                best, found = entry, key
        start = 0
        if best is not None:
            self._entries.move_to_end(found)
            start = len(best.tokens)
        shared = {min(common_prefix(prompt, seen), limit) for seen in [*self._recent, *waiting]}
        boundaries = sorted(
            n for n in shared if n >= start + MIN_PREFIX and prompt[:n].tobytes() not in self._entries
        )
        kept: list[int] = []
        for n in boundaries:  # spaced at least MIN_PREFIX apart
            if not kept or n - kept[-1] >= MIN_PREFIX:
                kept.append(n)
        self._recent.append(prompt)
        if len(self._recent) > self._recent_max:
            self._recent.pop(0)
        return (best.seq if best is not None else None), start, kept[:MAX_BOUNDARIES]

    def pending(self, prompt: np.ndarray[Any, Any], making: Sequence[np.ndarray[Any, Any]]) -> bool:
        """Whether an entry being made now (``making``: prefixes under evaluation) would serve ``prompt``
        better than what the cache holds: then it should wait a step or two rather than repeat the work."""
        have = max(
            (len(e.tokens) for e in self._entries.values() if len(e.tokens) < len(prompt)
             and np.array_equal(prompt[: len(e.tokens)], e.tokens)),
            default=0,
        )  # fmt: skip
        return any(have < len(m) < len(prompt) and np.array_equal(prompt[: len(m)], m) for m in making)

    def copy_into(self, entry_seq: int, length: int, seq: int) -> None:
        C.llama_memory_seq_cp(self._mem, entry_seq, seq, 0, length)
        self.stats.reused += length

    def make(self, seq: int, prefix: np.ndarray[Any, np.dtype[np.int32]]) -> None:
        """Keep ``prefix`` (positions ``[0, len)`` of sequence ``seq``, just evaluated) as an entry."""
        tokens = np.asarray(prefix, dtype=np.int32)
        key = tokens.tobytes()
        if key in self._entries:
            return
        if not self._free:
            self._drop(next(iter(self._entries)))
        entry_seq = self._free.pop()
        C.llama_memory_seq_cp(self._mem, seq, entry_seq, 0, len(tokens))
        self._entries[key] = _Entry(entry_seq, tokens)
        self.stats.entries_made += 1

    def _drop(self, key: bytes) -> None:
        entry = self._entries.pop(key)
        C.llama_memory_seq_rm(self._mem, entry.seq, -1, -1)
        self._free.append(entry.seq)

    def clear(self) -> bool:
        """Drop every entry (the cache is out of cells); False when there was none."""
        had = bool(self._entries)
        for key in list(self._entries):
            self._drop(key)
        return had
