from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jurist.store.database import Database, PostgresDatabase, SqliteDatabase
from jurist.store.migrations import upgrade
from jurist.store.sql_store import SqlStore
from tests.support.postgres import reset_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database of each kind; every contract test runs on both."""
    db: Database
    if request.param == "sqlite":
        db = SqliteDatabase(tmp_path / "contract.db")
    else:
        url = request.getfixturevalue("postgres_url")
        reset_postgres(url)
        db = PostgresDatabase(url)
    await db.open()
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
async def store(database: Database) -> SqlStore:
    await upgrade(database)
    return SqlStore(database)
