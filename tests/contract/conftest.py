from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from jurist.composition import Stores
from jurist.store.database import Database, PostgresDatabase, SqliteDatabase
from jurist.store.migrations import upgrade
from tests.support.postgres import reset_postgres
from tests.support.store_records import NewDatabase


@pytest.fixture(params=["sqlite", "postgresql"])
async def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[NewDatabase]:
    """Makes empty, open databases of one kind (every contract test runs on both kinds): SQLite files,
    or schemas of one PostgreSQL database (each connection's ``search_path`` is its own schema)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else ""
    if url:
        reset_postgres(url)
    opened: list[Database] = []

    async def make() -> Database:
        db: Database
        n = len(opened)
        if not url:
            db = SqliteDatabase(tmp_path / f"contract-{n}.db")
        elif n == 0:
            db = PostgresDatabase(url)
        else:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS install_{n} CASCADE")  # a crashed run's
                conn.execute(f"CREATE SCHEMA install_{n}")
            db = PostgresDatabase(f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3Dinstall_{n}")
        await db.open()
        opened.append(db)
        return db

    try:
        yield make
    finally:
        for db in opened:
            await db.close()
        if url and len(opened) > 1:
            with psycopg.connect(url, autocommit=True) as conn:
                for n in range(1, len(opened)):
                    conn.execute(f"DROP SCHEMA install_{n} CASCADE")


@pytest.fixture
async def database(new_database: NewDatabase) -> Database:
    """An empty database of each kind."""
    return await new_database()


@pytest.fixture
async def stores(database: Database) -> Stores:
    await upgrade(database)
    return Stores.over(database)
