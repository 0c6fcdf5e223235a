"""One small async SQL seam over SQLite (aiosqlite) and PostgreSQL (psycopg 3 pool).

Queries are written once with ``:name`` parameters; the PostgreSQL adapter rewrites them to psycopg's
``%(name)s``. Every write happens in a transaction: ``BEGIN IMMEDIATE`` on SQLite (one writer at a time,
across processes too), a pooled connection's transaction on PostgreSQL. A statement that breaks a
unique key raises ``Conflict`` on both. ``read()`` is a transaction that only reads: on SQLite it runs
on connections of its own (WAL readers take no lock), so a read never queues behind a long write.
"""

from __future__ import annotations

import asyncio
import functools
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

from jurist.errors import ConfigError, Conflict, StoreError

Dialect = Literal["sqlite", "postgresql"]
Params = Mapping[str, Any]
Row = dict[str, Any]


class Tx(Protocol):
    async def execute(self, sql: str, params: Params | None = None) -> int: ...

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None: ...

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]: ...


class Database(Protocol):
    dialect: Dialect

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[Tx]: ...

    def read(self) -> AbstractAsyncContextManager[Tx]:
        """A transaction that only reads (a consistent snapshot); never waits for a writer."""
        ...

    async def script(self, sql: str) -> None: ...


async def ping(db: Database) -> None:
    """Raises unless the database answers a query."""
    async with db.transaction() as tx:
        await tx.fetchone("SELECT 1 AS one")


def row_lock(dialect: Dialect, *, skip_locked: bool = False) -> str:
    """The clause that locks the rows a ``SELECT`` picks for an update in the same transaction.
    PostgreSQL needs it (``SKIP LOCKED`` lets concurrent claimers pass each other's rows); SQLite has
    no row locks and needs none, its write transaction already excludes every other writer."""
    if dialect != "postgresql":
        return ""
    return " FOR UPDATE SKIP LOCKED" if skip_locked else " FOR UPDATE"


_UNIQUE = {sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY}


def _is_unique_violation(exc: sqlite3.IntegrityError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in _UNIQUE


_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    return _PARAM.sub(r"%(\1)s", sql)


class _SqliteTx:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def _run(self, sql: str, params: Params | None) -> Any:
        try:
            return await self._conn.execute(sql, dict(params or {}))
        except sqlite3.IntegrityError as exc:
            if _is_unique_violation(exc):
                raise Conflict(str(exc)) from exc
            raise

    async def execute(self, sql: str, params: Params | None = None) -> int:
        cursor = await self._run(sql, params)
        return int(cursor.rowcount)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        try:
            await self._conn.executemany(sql, [dict(r) for r in rows])
        except sqlite3.IntegrityError as exc:
            if _is_unique_violation(exc):
                raise Conflict(str(exc)) from exc
            raise

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        cursor = await self._run(sql, params)
        row = await cursor.fetchone()
        return dict(row) if row is not None else None

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        cursor = await self._run(sql, params)
        return [dict(r) for r in await cursor.fetchall()]


class SqliteDatabase:
    """One aiosqlite connection per process.

    ``_serialise_writes`` lets one transaction at a time use that connection: every transaction starts
    with ``BEGIN IMMEDIATE`` (it takes SQLite's write lock up front), and SQLite allows one writer, so
    this process's transactions queue here instead of interleaving on the shared connection. Between
    processes, ``BEGIN IMMEDIATE`` and the busy timeout serialise them.

    ``read()`` takes one of ``READERS`` connections of its own (each on its own aiosqlite thread): a WAL
    reader sees the last commit and takes no lock, so reads go on while a write holds the writer.
    """

    dialect: Dialect = "sqlite"
    READERS = 2

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: Any = None
        self._serialise_writes = asyncio.Lock()
        self._readers: asyncio.Queue[Any] = asyncio.Queue()
        self._reader_conns: list[Any] = []

    async def _connect(self) -> Any:
        import aiosqlite

        conn = await aiosqlite.connect(str(self.path), isolation_level=None, timeout=30)
        conn.row_factory = aiosqlite.Row
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA busy_timeout=30000",
            "PRAGMA foreign_keys=ON",
        ):
            await conn.execute(pragma)
        return conn

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await self._connect()
        for _ in range(self.READERS):
            reader = await self._connect()
            self._reader_conns.append(reader)
            self._readers.put_nowait(reader)

    async def close(self) -> None:
        for reader in self._reader_conns:
            await reader.close()
        self._reader_conns.clear()
        self._readers = asyncio.Queue()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        if self._conn is None:
            raise StoreError("the database is not open")
        reader = await self._readers.get()
        try:
            await reader.execute("BEGIN")  # deferred: a read snapshot, no write lock
            try:
                yield _SqliteTx(reader)
            finally:
                await reader.execute("COMMIT")
        finally:
            self._readers.put_nowait(reader)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._serialise_writes:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def script(self, sql: str) -> None:
        async with self._serialise_writes:
            await self._conn.executescript(sql)


class _PostgresTx:
    def __init__(self, conn: Any) -> None:
        from psycopg.errors import UniqueViolation  # imported with the pool, so only a lookup here

        self._conn = conn
        self._unique_violation = UniqueViolation

    async def _run(self, sql: str, params: Params | None) -> Any:
        try:
            return await self._conn.execute(to_pyformat(sql), dict(params or {}))
        except self._unique_violation as exc:
            raise Conflict(str(exc).strip()) from exc

    async def execute(self, sql: str, params: Params | None = None) -> int:
        cursor = await self._run(sql, params)
        return int(cursor.rowcount)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self._conn.cursor() as cursor:
            try:
                await cursor.executemany(to_pyformat(sql), [dict(r) for r in rows])
            except self._unique_violation as exc:
                raise Conflict(str(exc).strip()) from exc

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        cursor = await self._run(sql, params)
        row: Row | None = await cursor.fetchone()
        return row

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        cursor = await self._run(sql, params)
        rows: list[Row] = await cursor.fetchall()
        return rows


class PostgresDatabase:
    dialect: Dialect = "postgresql"

    def __init__(self, url: str, max_size: int = 10) -> None:
        self.url = url
        self._max_size = max_size
        self._pool: Any = None

    async def open(self) -> None:
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        self._pool = AsyncConnectionPool(
            self.url,
            min_size=1,
            max_size=self._max_size,
            kwargs={"row_factory": dict_row, "autocommit": True},
            open=False,
        )
        await self._pool.open(wait=True, timeout=30)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._pool.connection() as conn, conn.transaction():
            yield _PostgresTx(conn)

    def read(self) -> AbstractAsyncContextManager[Tx]:
        """PostgreSQL's readers never wait for writers (MVCC): a plain transaction."""
        return self.transaction()

    async def script(self, sql: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(sql)


def open_database(url: str) -> Database:
    """``sqlite:///path`` or ``postgresql://…`` (``postgres://`` accepted)."""
    if url.startswith("sqlite:///"):
        return SqliteDatabase(Path(url[len("sqlite:///") :]))
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return PostgresDatabase(url.replace("postgresql+psycopg://", "postgresql://", 1))
    raise ConfigError(
        f"unsupported database URL {url.split('://', 1)[0]}://… (use sqlite:/// or postgresql://)"
    )
