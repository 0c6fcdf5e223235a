"""Migrations: an install of an older release, migrated, has the schema a new install gets. Both schemas
are read from the database's own catalogue (``store.catalogue``), so a migration that reaches another
shape than a fresh install (or fails on an install that holds rows) fails here."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from jurist.store.catalogue import Schema, read_schema, schema_diff
from jurist.store.database import Database, PostgresDatabase, SqliteDatabase
from jurist.store.migrations import MIGRATIONS, applied, upgrade
from tests.support.store_records import NewDatabase

NAMES = [m.name for m in MIGRATIONS]

# What each released migration executed. An install that ran one never runs it again, so editing a
# released migration changes new installs only: change the schema with a new migration at the end.
RELEASED = {
    "0001_files_batches_requests": "734c9897e586c4d4bd5916ee56533612c9988e87f272373fccead29ca75d574b",
    "0002_judge_cache": "4bf36f2c9d6dde0fcd6ea6d43214691277007b01c55fdf477465443ea64d1085",
}


def executed(name: str) -> str:
    migration = next(m for m in MIGRATIONS if m.name == name)
    statements = migration.render("sqlite") + migration.render("postgresql")
    return hashlib.sha256("\n".join(" ".join(s.split()) for s in statements).encode()).hexdigest()


def test_released_migrations_are_never_edited() -> None:
    assert NAMES[: len(RELEASED)] == list(RELEASED), "new migrations go after the released ones"
    for name, digest in RELEASED.items():
        assert executed(name) == digest, f"{name} was released: add a new migration instead of editing it"


async def _fill(db: Database, schema: Schema) -> dict[str, int]:
    """A row in every table (each NOT NULL column without a default gets a value of its type), as an
    install in use holds; returns the tables' row counts."""
    needed: dict[str, dict[str, object]] = {}
    for kind, table, *rest in schema:
        if table == "schema_migrations":
            continue
        if kind == "table":
            needed.setdefault(table, {})
        elif kind == "column":
            column, type_, null, default, generated = rest
            if null == "not null" and default == "default=None" and generated != "identity=ALWAYS":
                type_ = type_.upper()
                value = 1 if "INT" in type_ else 1.5 if "REAL" in type_ or "DOUBLE" in type_ else "x"
                needed.setdefault(table, {})[column] = b"x" if type_ in ("BLOB", "BYTEA") else value
    counts = {}
    async with db.transaction() as tx:
        for table, row in needed.items():
            names = ", ".join(row)
            values = f"({names}) VALUES ({', '.join(f':{c}' for c in row)})" if row else "DEFAULT VALUES"
            await tx.execute(f"INSERT INTO {table} {values}", row)  # no column needs a value: defaults
            counted = await tx.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
            counts[table] = int(counted["n"]) if counted else 0
    return counts


async def test_upgrade_applies_each_migration_once(database: Database) -> None:
    assert await upgrade(database) == NAMES
    assert await upgrade(database) == []
    assert await applied(database) == NAMES


async def test_nodes_starting_together_on_a_new_database_migrate_it_once(database: Database) -> None:
    """Four processes' connections upgrading one empty database at once (servers and workers of a new
    install starting together): every one succeeds, and each migration runs exactly once."""
    nodes: list[Database] = [
        PostgresDatabase(database.url) if isinstance(database, PostgresDatabase) else SqliteDatabase(database.path)
        for _ in range(4)
    ]  # fmt: skip
    for node in nodes:
        await node.open()
    try:
        done = await asyncio.gather(*(upgrade(node) for node in nodes))
    finally:
        for node in nodes:
            await node.close()
    assert sorted(name for names in done for name in names) == sorted(NAMES)
    assert await applied(database) == NAMES


@pytest.mark.parametrize("released", range(1, len(MIGRATIONS)), ids=lambda n: f"from-{NAMES[n - 1]}")
async def test_an_old_install_migrated_has_the_schema_of_a_new_one(
    new_database: NewDatabase, released: int
) -> None:
    old = await new_database()
    assert await upgrade(old, MIGRATIONS[:released]) == NAMES[:released]
    rows = await _fill(old, await read_schema(old))
    assert rows and all(n == 1 for n in rows.values())
    assert await upgrade(old) == NAMES[released:]
    fresh = await new_database()
    assert await upgrade(fresh) == NAMES
    assert schema_diff(await read_schema(fresh), await read_schema(old)) == []
    async with old.transaction() as tx:
        for table, n in rows.items():
            kept = await tx.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
            assert kept is not None and kept["n"] == n, f"rows of {table} lost in the upgrade"


CHANGES = {
    "extra column": (["ALTER TABLE files ADD COLUMN note TEXT"], "+ column files note"),
    "extra index": (["CREATE INDEX files_by_purpose ON files (purpose)"], "+ index files files_by_purpose"),
    "missing table": (["DROP TABLE judge_cache"], "- table judge_cache"),
    "unique index made plain": (
        ["DROP INDEX batches_idempotency",
         "CREATE INDEX batches_idempotency ON batches (tenant, idempotency_key)"],
        "+ index batches batches_idempotency",
    ),
    "index on other columns": (
        ["DROP INDEX batch_requests_lease", "CREATE INDEX batch_requests_lease ON batch_requests (lease_until)"],
        "+ index batch_requests batch_requests_lease",
    ),
    "nullable column": (
        ["DROP TABLE judge_cache",
         "CREATE TABLE judge_cache (key TEXT PRIMARY KEY, model TEXT, response TEXT NOT NULL, "
         "created_at {bigint} NOT NULL)"],
        "+ column judge_cache model",
    ),
    "column type": (
        ["DROP TABLE judge_cache",
         "CREATE TABLE judge_cache (key TEXT PRIMARY KEY, model TEXT NOT NULL, response TEXT NOT NULL, "
         "created_at REAL NOT NULL)"],
        "+ column judge_cache created_at",
    ),
}  # fmt: skip


@pytest.mark.parametrize("change", CHANGES)
async def test_the_comparison_reports_a_difference(new_database: NewDatabase, change: str) -> None:
    """The check above can fail: two new installs compare equal until one of them is changed."""
    statements, expected = CHANGES[change]
    a, b = await new_database(), await new_database()
    await upgrade(a)
    await upgrade(b)
    assert schema_diff(await read_schema(a), await read_schema(b)) == []
    bigint = "INTEGER" if b.dialect == "sqlite" else "BIGINT"
    async with b.transaction() as tx:
        for statement in statements:
            await tx.execute(statement.format(bigint=bigint))
    diff = schema_diff(await read_schema(a), await read_schema(b))
    assert any(line.startswith(expected) for line in diff), diff
