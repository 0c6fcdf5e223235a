"""The review page's index of a batch: per output line its ``custom_id``, where its output line and its
input line are (byte offset and length) and the facts the filters need (mode, verdict, confidence,
abstained, swap-inconsistent, unscored, flagged). Built once per output file, off the event loop (the
files are read in parts and each part is scanned in a thread), and kept in a small LRU keyed by the
output file id: an output file never changes, so its index never goes stale, and a page then reads
just its two lines (``BlobStore.read_range``)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace

import orjson

from jurist.store.blobs import BlobStore

KEEP = 4  # batches whose index a process keeps (a 50,000-line index is a few MB)
_WINNERS = {"response_1": "1", "response_2": "2", "tie": "tie"}


@dataclass(frozen=True, slots=True)
class Entry:
    """One output line: where it is, where its input line is (``in_at`` -1: not in the input), and what
    the filters ask about it (``mode`` None: an error line, no judgment)."""

    custom_id: str
    out_at: int
    out_len: int
    in_at: int
    in_len: int
    mode: str | None
    verdict: str | int | None  # "1" | "2" | "tie" (pairwise) or the rounded score (single), as labels
    confidence: float | None
    abstained: bool
    inconsistent: bool
    unscored: bool
    flagged: bool


@dataclass
class ReviewIndex:
    entries: list[Entry]
    build_seconds: float
    positions: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.positions = {e.custom_id: i for i, e in enumerate(self.entries)}

    def entry(self, custom_id: str) -> Entry | None:
        at = self.positions.get(custom_id)
        return None if at is None else self.entries[at]


class _Lines:
    """Splits a byte stream into lines, remembering each line's offset."""

    def __init__(self, on_line: Callable[[int, bytes], None]) -> None:
        self.on_line = on_line
        self.rest = b""
        self.at = 0  # offset of ``rest`` in the file

    def feed(self, chunk: bytes) -> None:
        data = self.rest + chunk
        start = 0
        while (end := data.find(b"\n", start)) != -1:
            self.on_line(self.at + start, data[start:end])
            start = end + 1
        self.at += start
        self.rest = data[start:]

    def close(self) -> None:
        if self.rest:
            self.on_line(self.at, self.rest)


async def _scan(chunks: AsyncIterator[bytes], on_line: Callable[[int, bytes], None]) -> None:
    lines = _Lines(on_line)
    async for chunk in chunks:
        await asyncio.to_thread(lines.feed, chunk)
    await asyncio.to_thread(lines.close)


def _object(raw: bytes) -> dict[str, object] | None:
    try:
        data = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _verdict(judgment: dict[str, object]) -> str | int | None:
    """The judge's verdict as a label (as ``service.labels.labeled_line`` reads it)."""
    if not judgment.get("scored"):
        return None
    if judgment.get("mode") == "pairwise":
        winner = judgment.get("winner")
        return _WINNERS.get(winner) if isinstance(winner, str) else None
    score = judgment.get("overall_score")
    return round(score) if isinstance(score, int | float) else None


def _entry(custom_id: str, at: int, raw: bytes, line: dict[str, object]) -> Entry:
    response = line.get("response")
    body = response.get("body") if isinstance(response, dict) else None
    judgment = body.get("judgment") if isinstance(body, dict) else None
    if not isinstance(judgment, dict) or judgment.get("mode") not in ("single", "pairwise"):
        return Entry(custom_id, at, len(raw), -1, 0, None, None, None, False, False, True, False)
    swap = judgment.get("swap")
    confidence = judgment.get("confidence")
    return Entry(
        custom_id, at, len(raw), -1, 0, str(judgment["mode"]), _verdict(judgment),
        float(confidence) if isinstance(confidence, int | float) else None,
        judgment.get("abstained") is True,
        isinstance(swap, dict) and swap.get("consistent") is False,
        not judgment.get("scored"),
        bool(judgment.get("flags")),
    )  # fmt: skip


async def build(blobs: BlobStore, input_file_id: str | None, output_file_id: str) -> ReviewIndex:
    """Scan the output file (its lines' facts), then the input file (where each custom_id's line is)."""
    started = time.perf_counter()
    entries: list[Entry] = []

    def on_output(at: int, raw: bytes) -> None:
        line = _object(raw)
        if line is not None and isinstance(line.get("custom_id"), str):
            entries.append(_entry(str(line["custom_id"]), at, raw, line))

    await _scan(blobs.read(output_file_id), on_output)
    inputs: dict[str, tuple[int, int]] = {}

    def on_input(at: int, raw: bytes) -> None:
        line = _object(raw)
        if line is not None and isinstance(line.get("custom_id"), str):
            inputs.setdefault(str(line["custom_id"]), (at, len(raw)))

    if input_file_id is not None:  # None: the input file was deleted (the page shows the verdicts)
        await _scan(blobs.read(input_file_id), on_input)

    def joined() -> list[Entry]:
        found = (inputs.get(e.custom_id, (-1, 0)) for e in entries)
        return [replace(e, in_at=at, in_len=size) for e, (at, size) in zip(entries, found, strict=True)]

    joined_entries = await asyncio.to_thread(joined)
    index = await asyncio.to_thread(ReviewIndex, joined_entries, 0.0)
    index.build_seconds = time.perf_counter() - started
    return index


class ReviewIndexes:
    """The indexes of the last ``KEEP`` batches reviewed in this process (least recently used goes);
    one build at a time per output file (a second request waits for the first's index)."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._indexes: OrderedDict[str, ReviewIndex] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, blobs: BlobStore, input_file_id: str | None, output_file_id: str) -> ReviewIndex:
        found = self._indexes.get(output_file_id)
        if found is None:
            lock = self._locks.setdefault(output_file_id, asyncio.Lock())
            async with lock:
                found = self._indexes.get(output_file_id)
                if found is None:
                    found = await build(blobs, input_file_id, output_file_id)
                    self._indexes[output_file_id] = found
            self._locks.pop(output_file_id, None)
        self._indexes.move_to_end(output_file_id)
        while len(self._indexes) > self.keep:
            self._indexes.popitem(last=False)
        return found
