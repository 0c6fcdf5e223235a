"""Records for the store contract tests (tests/contract), and a batch brought to in_progress."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from jurist.composition import Stores
from jurist.protocol.batches import BatchStatus
from jurist.store.database import Database
from jurist.store.records import BatchRecord, FileRecord, FileStorage, RequestLine, RequestResult

NOW = 1_800_000_000
NewDatabase = Callable[[], Awaitable[Database]]  # the contract tests' ``new_database`` fixture


def file(i: int, tenant: str = "t1", purpose: str = "batch") -> FileRecord:
    return FileRecord(
        f"file-{i:03d}", tenant, purpose, f"f{i}.jsonl", 10 * i, NOW + i, None, FileStorage.DISK
    )


def batch(i: int, tenant: str = "t1", idempotency_key: str | None = None) -> BatchRecord:
    return BatchRecord(
        f"batch_{i:03d}",
        tenant,
        "/v1/chat/completions",
        "file-001",
        "24h",
        BatchStatus.VALIDATING,
        NOW + i,
        NOW + i + 86400,
        idempotency_key=idempotency_key,
    )


def result(batch_id: str, line: int, ok: bool = True) -> RequestResult:
    return RequestResult(batch_id, line, ok, 200 if ok else 500, f"req_{line}", f'{{"line": {line}}}', 3, 4)


async def running_batch(stores: Stores, lines: int, model: str = "m") -> str:
    """batch_001, validated by worker w0 with ``lines`` queued lines for ``model``: in_progress."""
    await stores.batches.insert(batch(1))
    task = await stores.tasks.claim("w0", NOW, 60)
    assert task is not None and task.id == "batch_001"
    await stores.tasks.add_lines(task.id, [RequestLine(i, f"c{i}", model, "{}") for i in range(1, lines + 1)])
    assert await stores.tasks.start(task.id, "w0", lines, model, NOW)
    return task.id


async def started_batch(
    stores: Stores, i: int, tenant: str, lines: int, model: str = "m", chunk: int = 1000
) -> str:
    """batch_{i}, of ``tenant``, validated by worker w0 (its lines queued ``chunk`` at a time, as the
    runner does) and started: in_progress."""
    await stores.batches.insert(batch(i, tenant))
    task = await stores.tasks.claim("w0", NOW, 60)
    assert task is not None and task.id == f"batch_{i:03d}"
    rows = [RequestLine(k, f"c{k}", model, "{}") for k in range(1, lines + 1)]
    for start in range(0, lines, chunk):
        await stores.tasks.add_lines(task.id, rows[start : start + chunk])
    assert await stores.tasks.start(task.id, "w0", lines, model, NOW)
    return task.id
