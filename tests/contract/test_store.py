"""One contract for the store, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

from jurist.store.database import Database
from jurist.store.migrations import MIGRATIONS, fresh_schema, schema_snapshot, upgrade
from jurist.store.records import BatchRecord, FileRecord, RequestLine, RequestResult
from jurist.store.sql_store import SqlStore

NOW = 1_800_000_000


def file(i: int, tenant: str = "t1", purpose: str = "batch") -> FileRecord:
    return FileRecord(f"file-{i:03d}", tenant, purpose, f"f{i}.jsonl", 10 * i, NOW + i, None, "disk")


def batch(i: int, tenant: str = "t1") -> BatchRecord:
    return BatchRecord(
        f"batch_{i:03d}",
        tenant,
        "/v1/chat/completions",
        "file-001",
        "24h",
        "validating",
        NOW + i,
        NOW + i + 86400,
    )


async def running_batch(store: SqlStore, lines: int, model: str = "m") -> str:
    await store.insert_batch(batch(1))
    task = await store.claim_batch_task("w0", NOW, 60)
    assert task is not None and task.id == "batch_001"
    await store.add_requests(task.id, [RequestLine(i, f"c{i}", model, "{}") for i in range(1, lines + 1)])
    assert await store.start_batch(task.id, "w0", lines, model, NOW)
    return task.id


def result(batch_id: str, line: int, ok: bool = True) -> RequestResult:
    return RequestResult(batch_id, line, ok, 200 if ok else 500, f"req_{line}", f'{{"line": {line}}}', 3, 4)


async def test_migrations_are_idempotent_and_fresh_equals_migrated(
    database: Database, tmp_path: object
) -> None:
    assert await upgrade(database) == [m.name for m in MIGRATIONS]
    assert await upgrade(database) == []
    migrated = await schema_snapshot(database)
    async with database.transaction() as tx:
        for table in (
            "batch_requests",
            "file_chunks",
            "batches",
            "files",
            "judge_cache",
            "schema_migrations",
        ):
            await tx.execute(f"DROP TABLE {table}")
        for statement in fresh_schema(database.dialect):
            await tx.execute(statement)
        await tx.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at "
                         + ("INTEGER" if database.dialect == "sqlite" else "BIGINT") + " NOT NULL)")  # fmt: skip
    assert await schema_snapshot(database) == migrated
    assert {"files", "batches", "batch_requests", "file_chunks"} <= set(migrated)


async def test_files_are_per_tenant_and_paginate(store: SqlStore) -> None:
    for i in range(1, 6):
        await store.insert_file(file(i, purpose="batch" if i % 2 else "user_data"))
    await store.insert_file(file(9, tenant="t2"))
    page = await store.list_files("t1", purpose=None, after=None, limit=2, order="desc")
    assert [f.id for f in page.items] == ["file-005", "file-004"] and page.has_more
    page = await store.list_files("t1", purpose=None, after="file-004", limit=10, order="desc")
    assert [f.id for f in page.items] == ["file-003", "file-002", "file-001"] and not page.has_more
    page = await store.list_files("t1", purpose="batch", after=None, limit=10, order="asc")
    assert [f.id for f in page.items] == ["file-001", "file-003", "file-005"]
    assert await store.get_file("t2", "file-001") is None
    assert (await store.get_file("t1", "file-001")) == file(1)
    assert await store.tenant_bytes("t1") == 150
    assert await store.delete_file("t2", "file-001") is None
    assert await store.delete_file("t1", "file-001") == file(1)
    assert await store.get_file("t1", "file-001") is None


async def test_file_chunks_round_trip(store: SqlStore) -> None:
    await store.put_chunk("file-1", 0, b"\x00\xffabc")
    await store.put_chunk("file-1", 1, b"def")
    assert await store.get_chunk("file-1", 0) == b"\x00\xffabc"
    assert await store.get_chunk("file-1", 2) is None
    await store.drop_chunks("file-1")
    assert await store.get_chunk("file-1", 0) is None


async def test_batches_are_per_tenant_and_cancel_is_compare_and_set(store: SqlStore) -> None:
    for i in range(1, 4):
        await store.insert_batch(batch(i))
    await store.insert_batch(batch(7, tenant="t2"))
    page = await store.list_batches("t1", after=None, limit=2)
    assert [b.id for b in page.items] == ["batch_003", "batch_002"] and page.has_more
    page = await store.list_batches("t1", after="batch_002", limit=2)
    assert [b.id for b in page.items] == ["batch_001"] and not page.has_more
    assert await store.get_batch("t2", "batch_001") is None
    assert await store.request_cancel("t2", "batch_001", NOW) is None
    cancelled = await store.request_cancel("t1", "batch_001", NOW)
    assert cancelled is not None and cancelled.status == "cancelling" and cancelled.cancelling_at == NOW


async def test_claims_are_exclusive_and_results_need_the_lease(store: SqlStore) -> None:
    batch_id = await running_batch(store, 10)
    a, b = await asyncio.gather(
        store.claim_requests("wa", "m", 6, NOW, 30), store.claim_requests("wb", "m", 6, NOW, 30)
    )
    lines_a, lines_b = {c.line for c in a}, {c.line for c in b}
    assert not lines_a & lines_b and len(lines_a | lines_b) == 10
    assert all(c.attempts == 1 for c in a + b)
    # only the lease holder's result counts
    assert await store.record_results("intruder", [result(batch_id, next(iter(lines_a)))], NOW) == 0
    assert await store.record_results("wa", [result(batch_id, line) for line in lines_a], NOW) == len(lines_a)
    assert await store.record_results("wa", [result(batch_id, next(iter(lines_a)))], NOW) == 0  # exactly once
    current = await store.get_batch("t1", batch_id)
    assert current is not None and current.completed == len(lines_a) and current.status == "in_progress"
    assert current.input_tokens == 3 * len(lines_a)
    # wb dies: its leases expire and the lines are claimed again
    assert await store.reclaim_expired(NOW + 31) == len(lines_b)
    again = await store.claim_requests("wc", "m", 10, NOW + 31, 30)
    assert {c.line for c in again} == lines_b and all(c.attempts == 2 for c in again)
    assert await store.record_results("wb", [result(batch_id, line) for line in lines_b], NOW) == 0
    assert await store.record_results("wc", [result(batch_id, c.line, ok=False) for c in again], NOW) == len(
        lines_b
    )
    done = await store.get_batch("t1", batch_id)
    assert (
        done is not None
        and done.status == "finalizing"
        and (done.completed, done.failed) == (len(lines_a), len(lines_b))
    )


async def test_retry_later_and_model_filter(store: SqlStore) -> None:
    batch_id = await running_batch(store, 2, model="m")
    assert await store.claim_requests("w", "other", 5, NOW, 30) == []
    claimed = await store.claim_requests("w", "m", 1, NOW, 30)
    assert await store.retry_later("w", batch_id, claimed[0].line, NOW + 10)
    assert [c.line for c in await store.claim_requests("w", "m", 5, NOW, 30)] == [2]
    assert [c.line for c in await store.claim_requests("w", "m", 5, NOW + 11, 30)] == [1]
    assert await store.queue_depth() == {}


async def test_finish_lines_in_input_order_and_expiry(store: SqlStore) -> None:
    batch_id = await running_batch(store, 5)
    claimed = await store.claim_requests("w", "m", 2, NOW, 30)
    await store.record_results("w", [result(batch_id, c.line) for c in claimed], NOW)
    task = await store.claim_batch_task("w", NOW + 90_000, 60)  # past expires_at
    assert task is not None and task.status == "in_progress"
    assert await store.expire_open_lines(batch_id, "w", NOW + 90_000) == 3
    lines = await store.finished_lines(batch_id, 0, 100)
    assert [(x.line, x.state) for x in lines] == [
        (1, "succeeded"),
        (2, "succeeded"),
        (3, "expired"),
        (4, "expired"),
        (5, "expired"),
    ]
    assert [x.line for x in await store.finished_lines(batch_id, 2, 2)] == [3, 4]
    out = FileRecord("file-out", "t1", "batch_output", "o.jsonl", 5, NOW, None, "disk")
    assert await store.finish_batch(batch_id, "someone-else", [out], "file-out", None, NOW) is False
    assert await store.finish_batch(batch_id, "w", [out], "file-out", None, NOW) is True
    final = await store.get_batch("t1", batch_id)
    assert final is not None and final.status == "expired" and final.expired_at == NOW and final.failed == 3
    assert await store.get_file("t1", "file-out") == out


async def test_failed_validation_discards_rows(store: SqlStore) -> None:
    await store.insert_batch(batch(1))
    task = await store.claim_batch_task("w", NOW, 60)
    assert task is not None
    assert await store.claim_batch_task("w2", NOW, 60) is None  # the task is leased
    await store.add_requests(task.id, [RequestLine(1, "a", "m", "{}")])
    errors = [{"code": "invalid_json_line", "message": "bad", "param": None, "line": 2}]
    assert await store.fail_batch(task.id, "w", errors, NOW)
    failed = await store.get_batch("t1", task.id)
    assert failed is not None and failed.status == "failed" and failed.errors == errors
    assert await store.finished_lines(task.id, 0, 10) == []


async def test_cache_round_trip(store: SqlStore) -> None:
    assert await store.cache_get("k1") is None
    await store.cache_put("k1", "m", '{"a": 1}', NOW)
    await store.cache_put("k1", "m", '{"a": 2}', NOW)  # first write wins
    assert await store.cache_get("k1") == '{"a": 1}'
