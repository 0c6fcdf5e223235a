"""One tenant's long write must not stall everyone (issue 18, item 1). On SQLite every database access
used to share one lock, so a read waited for any write in progress (100k labels: other tenants waited
~20 s). Reads now run on connections of their own and see the last commit while a write holds the
writer; labels are written in bulk."""

from __future__ import annotations

import asyncio
from pathlib import Path

from jurist.store.database import SqliteDatabase
from jurist.store.keys import SqlKeyStore
from jurist.store.labels import CHUNK, LabelRecord, SqlLabelStore
from jurist.store.migrations import upgrade


async def test_a_read_does_not_wait_for_a_write_in_progress(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "jurist.db")
    await db.open()
    try:
        await upgrade(db)
        keys = SqlKeyStore(db)
        before = await keys.list()
        async with db.transaction() as tx:  # a long write holds SQLite's writer (and this process's lock)
            await tx.execute(
                "INSERT INTO batch_labels (tenant, batch_id, custom_id, annotator, label, note, created_at) "
                "VALUES ('t', 'b', 'c', 'a', '\"1\"', NULL, 0)"
            )
            # another tenant's read goes on meanwhile (it used to wait here for the write: a deadlock)
            assert await asyncio.wait_for(keys.list(), 10) == before
            async with db.read() as reader:  # and it sees the last commit, not the write in progress
                assert await reader.fetchone("SELECT custom_id FROM batch_labels") is None
        async with db.read() as reader:
            assert await reader.fetchone("SELECT custom_id FROM batch_labels") == {"custom_id": "c"}
    finally:
        await db.close()


async def test_labels_are_written_in_bulk_and_a_later_one_replaces_the_earlier(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "jurist.db")
    await db.open()
    try:
        await upgrade(db)
        labels = SqlLabelStore(db)
        n = CHUNK * 2 + 7  # several executemany chunks in one transaction
        first = [LabelRecord("t", "b", f"r{i}", "ann", "1", None, 1) for i in range(n)]
        await labels.put(first)
        again = [LabelRecord("t", "b", f"r{i}", "ann", "2", "changed", 2) for i in range(0, n, 2)]
        await labels.put(again)
        stored = {r.custom_id: r for r in await labels.list("t", "b")}
        assert len(stored) == n
        assert stored["r0"].label == "2" and stored["r0"].note == "changed" and stored["r0"].created_at == 2
        assert stored["r1"].label == "1" and stored["r1"].note is None
        await labels.put([LabelRecord("u", "b", "r1", "ann", "tie", None, 3)])  # never across tenants
        assert {r.custom_id: r.label for r in await labels.list("t", "b")}["r1"] == "1"
        assert await labels.list("u", "b") == []
    finally:
        await db.close()
