"""Files, their bytes in the database, and the judge cache: on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from jurist.composition import Stores
from jurist.errors import Conflict
from jurist.store.database import Database
from tests.support.store_records import NOW, file


async def test_files_are_per_tenant_and_paginate(stores: Stores) -> None:
    files = stores.files
    for i in range(1, 6):
        await files.insert(file(i, purpose="batch" if i % 2 else "user_data"))
    await files.insert(file(9, tenant="t2"))
    page = await files.page("t1", purpose=None, after=None, limit=2, order="desc")
    assert [f.id for f in page.items] == ["file-005", "file-004"] and page.has_more
    page = await files.page("t1", purpose=None, after="file-004", limit=10, order="desc")
    assert [f.id for f in page.items] == ["file-003", "file-002", "file-001"] and not page.has_more
    page = await files.page("t1", purpose="batch", after=None, limit=10, order="asc")
    assert [f.id for f in page.items] == ["file-001", "file-003", "file-005"]
    assert await files.get("t2", "file-001") is None
    assert (await files.get("t1", "file-001")) == file(1)
    assert await files.tenant_bytes("t1") == 150
    assert await files.delete("t2", "file-001") is None
    assert await files.delete("t1", "file-001") == file(1)
    assert await files.get("t1", "file-001") is None


async def test_file_chunks_round_trip_and_go_with_their_file(stores: Stores) -> None:
    chunks = stores.chunks
    await chunks.put("file-1", 0, b"\x00\xffabc")
    await chunks.put("file-1", 1, b"def")
    await chunks.put("file-1", 1, b"DEF")  # a part written again: the last write wins
    assert await chunks.get("file-1", 0) == b"\x00\xffabc"
    assert await chunks.get("file-1", 1) == b"DEF"
    assert await chunks.get("file-1", 2) is None
    await chunks.drop("file-1")
    assert await chunks.get("file-1", 0) is None
    await stores.files.insert(file(1))
    await chunks.put("file-001", 0, b"x")
    await stores.files.delete("t1", "file-001")
    assert await chunks.get("file-001", 0) is None


async def test_a_taken_file_id_is_a_conflict_and_changes_nothing(stores: Stores) -> None:
    await stores.files.insert(file(1))
    with pytest.raises(Conflict):
        await stores.files.insert(file(1, tenant="t2", purpose="user_data"))
    assert await stores.files.get("t1", "file-001") == file(1)
    assert await stores.files.get("t2", "file-001") is None
    await stores.files.insert(file(2))  # the database is usable after the failed transaction
    assert await stores.files.tenant_bytes("t1") == 30


async def test_other_integrity_errors_are_not_conflicts(stores: Stores, database: Database) -> None:
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.NotNullViolation)) as info:
        async with database.transaction() as tx:
            await tx.execute(
                "INSERT INTO files (id, tenant, purpose, filename, bytes, created_at, storage) "
                "VALUES ('file-x', 't1', NULL, 'x', 1, 0, 'disk')"
            )
    assert not isinstance(info.value, Conflict)


async def test_cache_first_write_wins(stores: Stores) -> None:
    cache = stores.cache
    assert await cache.cache_get("k1") is None
    await cache.cache_put("k1", "m", '{"a": 1}', NOW)
    await cache.cache_put("k1", "m", '{"a": 2}', NOW)
    assert await cache.cache_get("k1") == '{"a": 1}'
    keys = [f"k{i}" for i in range(1200)]  # more keys than one lookup statement takes
    await cache.cache_put("k1100", "m", "{}", NOW)
    assert await cache.cache_get_many(keys) == {"k1": '{"a": 1}', "k1100": "{}"}
    assert await cache.cache_get_many([]) == {}
