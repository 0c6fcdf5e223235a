"""File bytes kept in the database, as numbered parts (``DatabaseBlobs`` in ``store.blobs`` writes and
reads them; multi-node deployments then share nothing but PostgreSQL)."""

from __future__ import annotations

import time
from typing import Protocol

from jurist.store.database import Database


class ChunkStore(Protocol):
    async def put(self, file_id: str, part: int, data: bytes) -> None:
        """Write part ``part`` of a file (again: the last write wins)."""
        ...

    async def get(self, file_id: str, part: int) -> bytes | None:
        """Part ``part`` of a file; None past its last part."""
        ...

    async def drop(self, file_id: str) -> None:
        """Every part of a file."""
        ...


class SqlChunkStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, file_id: str, part: int, data: bytes) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO file_chunks (file_id, part, data, written_at) VALUES (:f, :p, :d, :w) "
                "ON CONFLICT (file_id, part) DO UPDATE SET data = excluded.data, "
                "written_at = excluded.written_at",
                {"f": file_id, "p": part, "d": data, "w": time.time()},  # the sweep's grace runs from here
            )

    async def get(self, file_id: str, part: int) -> bytes | None:
        async with self._db.read() as tx:
            row = await tx.fetchone(
                "SELECT data FROM file_chunks WHERE file_id = :f AND part = :p", {"f": file_id, "p": part}
            )
        return bytes(row["data"]) if row else None

    async def drop(self, file_id: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM file_chunks WHERE file_id = :f", {"f": file_id})
