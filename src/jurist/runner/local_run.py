"""``jurist run``: a batch input file judged locally, no server — the same validation, the same engine
(ChatService) and the same output/error line formats as the Batch API.

Resumable: finished lines are appended (and flushed) as they complete; a re-run reads both files, cuts
a torn last line left by a crash, and skips every ``custom_id`` already there. Output lines are in
completion order (clients join on ``custom_id``, as with the Batch API).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from jurist.protocol.json_types import JSONObject
from jurist.runner.execute import Retry, execute_line
from jurist.runner.lines import LineValidator
from jurist.service.judging.pipeline import ChatService
from jurist.store.records import ClaimedRequest, RequestLine


@dataclass
class RunStats:
    total: int = 0
    skipped: int = 0
    completed: int = 0
    failed: int = 0


def _done_ids(path: Path) -> set[str]:
    """custom_ids already in a results file; a torn last line (no newline) is cut off first."""
    if not path.exists():
        return set()
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        with path.open("r+b") as fh:
            fh.truncate(keep)
        data = data[:keep]
    done = set()
    for line in data.splitlines():
        if line.strip():
            done.add(str(orjson.loads(line)["custom_id"]))
    return done


def read_requests(
    path: Path, models: frozenset[str], max_lines: int
) -> tuple[list[RequestLine], list[JSONObject]]:
    validator = LineValidator("/v1/chat/completions", models, max_lines)
    lines = []
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            line = validator.check(number, raw.rstrip(b"\r\n"))
            if line is not None:
                lines.append(line.queued())
    return lines, validator.finish()


class _Appender:
    def __init__(self, path: Path) -> None:
        self._fh = path.open("ab")

    def write(self, data: bytes) -> None:
        self._fh.write(data + b"\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()


async def run_file(
    chat: ChatService,
    lines: list[RequestLine],
    output: Path,
    errors: Path,
    concurrency: dict[str, int],
    max_attempts: int = 5,
    retry_base: float = 1.0,
    on_progress: Callable[[RunStats], None] | None = None,
) -> RunStats:
    done = _done_ids(output) | _done_ids(errors)
    todo = [line for line in lines if line.custom_id not in done]
    stats = RunStats(total=len(lines), skipped=len(lines) - len(todo))
    out, err = _Appender(output), _Appender(errors)
    gates = {model: asyncio.Semaphore(n) for model, n in concurrency.items()}

    async def one(line: RequestLine) -> None:
        attempt = 0
        async with gates.get(line.model, asyncio.Semaphore(1)):
            while True:
                attempt += 1
                claimed = ClaimedRequest("local", line.line, line.custom_id, line.model, line.body, attempt)
                outcome = await execute_line(chat, claimed, max_attempts, retry_base)
                if not isinstance(outcome, Retry):
                    break
                await asyncio.sleep(outcome.delay)
        (out if outcome.succeeded else err).write(outcome.response.encode())
        if outcome.succeeded:
            stats.completed += 1
        else:
            stats.failed += 1
        if on_progress is not None:
            on_progress(stats)

    try:
        await asyncio.gather(*(one(line) for line in todo))
    finally:
        out.close()
        err.close()
    return stats
