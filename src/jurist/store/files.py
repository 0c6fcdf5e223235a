"""Files: one metadata row per file, per tenant, listed newest or oldest first. Their bytes live in a
``BlobStore`` (``store.blobs``); deleting a file here also drops any bytes kept in the database."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from jurist.store.database import Database, Row, Tx
from jurist.store.records import FileRecord, FileStorage, Page

_COLUMNS = ("id", "tenant", "purpose", "filename", "bytes", "created_at", "expires_at", "storage")
_INSERT = f"INSERT INTO files ({', '.join(_COLUMNS)}) VALUES ({', '.join(f':{c}' for c in _COLUMNS)})"
_BY_ID = "SELECT * FROM files WHERE id = :id AND tenant = :t"


class FileStore(Protocol):
    async def insert(self, record: FileRecord) -> None: ...

    async def get(self, tenant: str, file_id: str) -> FileRecord | None: ...

    async def page(
        self, tenant: str, *, purpose: str | None, after: str | None, limit: int, order: str
    ) -> Page[FileRecord]:
        """The tenant's files in upload order, ``asc`` or ``desc``, after the file ``after``."""
        ...

    async def delete(self, tenant: str, file_id: str) -> FileRecord | None:
        """The deleted file's record; None (nothing deleted) when the tenant has no such file."""
        ...

    async def tenant_bytes(self, tenant: str) -> int:
        """What the tenant's files hold, in bytes (its quota use)."""
        ...


def file_from_row(row: Row) -> FileRecord:
    data = {k: row[k] for k in _COLUMNS}
    data["storage"] = FileStorage(data["storage"])
    return FileRecord(**data)


async def insert_files(tx: Tx, records: Iterable[FileRecord]) -> None:
    """Insert file rows inside a caller's transaction (a batch's output files commit with its status)."""
    for record in records:
        await tx.execute(_INSERT, {k: getattr(record, k) for k in _COLUMNS})


class SqlFileStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(self, record: FileRecord) -> None:
        async with self._db.transaction() as tx:
            await insert_files(tx, [record])

    async def get(self, tenant: str, file_id: str) -> FileRecord | None:
        async with self._db.read() as tx:
            row = await tx.fetchone(_BY_ID, {"id": file_id, "t": tenant})
        return file_from_row(row) if row else None

    async def page(
        self, tenant: str, *, purpose: str | None, after: str | None, limit: int, order: str
    ) -> Page[FileRecord]:
        cmp, direction = ("<", "DESC") if order == "desc" else (">", "ASC")
        where = ["tenant = :t"]
        params: dict[str, Any] = {"t": tenant, "n": limit + 1}
        if purpose:
            where.append("purpose = :p")
            params["p"] = purpose
        if after:
            where.append(f"seq {cmp} (SELECT seq FROM files WHERE id = :after AND tenant = :t)")
            params["after"] = after
        sql = f"SELECT * FROM files WHERE {' AND '.join(where)} ORDER BY seq {direction} LIMIT :n"
        async with self._db.read() as tx:
            rows = await tx.fetchall(sql, params)
        return Page([file_from_row(r) for r in rows[:limit]], len(rows) > limit)

    async def delete(self, tenant: str, file_id: str) -> FileRecord | None:
        async with self._db.transaction() as tx:
            row = await tx.fetchone(_BY_ID, {"id": file_id, "t": tenant})
            if row is None:
                return None
            await tx.execute("DELETE FROM files WHERE id = :id", {"id": file_id})
            await tx.execute("DELETE FROM file_chunks WHERE file_id = :id", {"id": file_id})
        return file_from_row(row)

    async def tenant_bytes(self, tenant: str) -> int:
        async with self._db.read() as tx:
            row = await tx.fetchone(
                "SELECT COALESCE(SUM(bytes), 0) AS n FROM files WHERE tenant = :t", {"t": tenant}
            )
        return int(row["n"]) if row else 0
