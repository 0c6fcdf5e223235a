"""One small async SQL seam over SQLite (aiosqlite) and PostgreSQL (psycopg 3 pool).

Queries are written once with ``:name`` parameters; the PostgreSQL adapter rewrites them to psycopg's
``%(name)s``. Every write happens in a transaction: ``BEGIN IMMEDIATE`` on SQLite (one writer at a time,
across processes too), a pooled connection's transaction on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

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

    async def script(self, sql: str) -> None: ...


_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    return _PARAM.sub(r"%(\1)s", sql)


class _SqliteTx:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params | None = None) -> int:
        cursor = await self._conn.execute(sql, dict(params or {}))
        return int(cursor.rowcount)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._conn.executemany(sql, [dict(r) for r in rows])

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        cursor = await self._conn.execute(sql, dict(params or {}))
        row = await cursor.fetchone()
        return dict(row) if row is not None else None

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        cursor = await self._conn.execute(sql, dict(params or {}))
        return [dict(r) for r in await cursor.fetchall()]


class SqliteDatabase:
    dialect: Dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: Any = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        import aiosqlite

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await aiosqlite.connect(str(self.path), isolation_level=None, timeout=30)
        self._conn.row_factory = aiosqlite.Row
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA busy_timeout=30000",
            "PRAGMA foreign_keys=ON",
        ):
            await self._conn.execute(pragma)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def script(self, sql: str) -> None:
        async with self._lock:
            await self._conn.executescript(sql)


class _PostgresTx:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params | None = None) -> int:
        cursor = await self._conn.execute(to_pyformat(sql), dict(params or {}))
        return int(cursor.rowcount)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self._conn.cursor() as cursor:
            await cursor.executemany(to_pyformat(sql), [dict(r) for r in rows])

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        cursor = await self._conn.execute(to_pyformat(sql), dict(params or {}))
        row: Row | None = await cursor.fetchone()
        return row

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        cursor = await self._conn.execute(to_pyformat(sql), dict(params or {}))
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

    async def script(self, sql: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(sql)


def open_database(url: str) -> Database:
    """``sqlite:///path`` or ``postgresql://…`` (``postgres://`` accepted)."""
    if url.startswith("sqlite:///"):
        return SqliteDatabase(Path(url[len("sqlite:///") :]))
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return PostgresDatabase(url.replace("postgresql+psycopg://", "postgresql://", 1))
    from jurist.errors import ConfigError

    raise ConfigError(
        f"unsupported database URL {url.split('://', 1)[0]}://… (use sqlite:/// or postgresql://)"
    )
