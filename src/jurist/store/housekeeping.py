"""What the sweep (``runner.sweep``) finds and removes in the database: file parts no file row owns
(an upload or a finalize that crashed between writing the bytes and committing the row, or a delete
that crashed between the row and the bytes), spools of batches that no longer need them, expired files,
and the line rows of batches finished long ago (their output and error files hold the results)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from jurist.protocol.batches import BatchStatus
from jurist.store.database import Database
from jurist.store.files import file_from_row
from jurist.store.records import FileRecord

SPOOL_PREFIX = "spool-"  # runner.spool names a batch's spool blob ``spool-<batch id>``
FINISHED = (BatchStatus.COMPLETED, BatchStatus.FAILED, BatchStatus.EXPIRED, BatchStatus.CANCELLED)
_FINISHED_IN = "(:s0, :s1, :s2, :s3)"
_FINISHED_PARAMS = {f"s{i}": s for i, s in enumerate(FINISHED)}
_FINISHED_AT = "COALESCE(completed_at, failed_at, expired_at, cancelled_at, created_at)"


def _marks(values: Sequence[str], prefix: str = "v") -> tuple[str, dict[str, Any]]:
    return ", ".join(f":{prefix}{i}" for i in range(len(values))), {
        f"{prefix}{i}": v for i, v in enumerate(values)
    }


class Housekeeping(Protocol):
    async def known_files(self, file_ids: Sequence[str]) -> set[str]:
        """Which of these ids have a file row."""
        ...

    async def spool_owners(self, batch_ids: Sequence[str]) -> set[str]:
        """Which of these batches may still read their spool (they exist and are not finished)."""
        ...

    async def orphan_chunks(self, before: float, limit: int) -> list[str]:
        """Ids whose parts are in ``file_chunks`` with no file row, last written before ``before``;
        spools whose batch no longer needs them count too."""
        ...

    async def drop_chunks(self, file_ids: Sequence[str]) -> None: ...

    async def take_expired_files(self, now: int, limit: int) -> list[FileRecord]:
        """Delete up to ``limit`` files whose ``expires_at`` has passed (their rows, and their parts
        kept in the database); returns them, so the caller drops bytes kept elsewhere."""
        ...

    async def drop_finished_rows(self, finished_before: int, limit: int) -> tuple[int, int]:
        """Delete the line rows of up to ``limit`` batches finished before ``finished_before``;
        returns (batches, rows)."""
        ...


class SqlHousekeeping:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def known_files(self, file_ids: Sequence[str]) -> set[str]:
        if not file_ids:
            return set()
        marks, params = _marks(file_ids)
        async with self._db.read() as tx:
            rows = await tx.fetchall(f"SELECT id FROM files WHERE id IN ({marks})", params)
        return {r["id"] for r in rows}

    async def spool_owners(self, batch_ids: Sequence[str]) -> set[str]:
        if not batch_ids:
            return set()
        marks, params = _marks(batch_ids)
        async with self._db.read() as tx:
            rows = await tx.fetchall(
                f"SELECT id FROM batches WHERE id IN ({marks}) AND status NOT IN {_FINISHED_IN}",
                {**params, **_FINISHED_PARAMS},
            )
        return {r["id"] for r in rows}

    async def orphan_chunks(self, before: float, limit: int) -> list[str]:
        async with self._db.read() as tx:
            rows = await tx.fetchall(
                "SELECT c.file_id FROM (SELECT file_id, MAX(written_at) AS w FROM file_chunks "
                "GROUP BY file_id) c WHERE c.w < :before "
                "AND NOT EXISTS (SELECT 1 FROM files f WHERE f.id = c.file_id) "
                "AND NOT (SUBSTR(c.file_id, 1, :n_sp) = :sp AND EXISTS (SELECT 1 FROM batches b "
                f"WHERE b.id = SUBSTR(c.file_id, :n_sp + 1) AND b.status NOT IN {_FINISHED_IN})) "
                "ORDER BY c.file_id LIMIT :n",
                {"sp": SPOOL_PREFIX, "n_sp": len(SPOOL_PREFIX), "before": before, "n": limit,
                 **_FINISHED_PARAMS},
            )  # fmt: skip
        return [r["file_id"] for r in rows]

    async def drop_chunks(self, file_ids: Sequence[str]) -> None:
        if not file_ids:
            return
        marks, params = _marks(file_ids)
        async with self._db.transaction() as tx:
            await tx.execute(f"DELETE FROM file_chunks WHERE file_id IN ({marks})", params)

    async def take_expired_files(self, now: int, limit: int) -> list[FileRecord]:
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "DELETE FROM files WHERE id IN (SELECT id FROM files WHERE expires_at < :now "
                "ORDER BY expires_at LIMIT :n) RETURNING *",
                {"now": now, "n": limit},
            )
            if rows:
                marks, params = _marks([r["id"] for r in rows])
                await tx.execute(f"DELETE FROM file_chunks WHERE file_id IN ({marks})", params)
        return [file_from_row(r) for r in rows]

    async def drop_finished_rows(self, finished_before: int, limit: int) -> tuple[int, int]:
        async with self._db.transaction() as tx:
            picked = await tx.fetchall(
                f"SELECT id FROM batches WHERE status IN {_FINISHED_IN} AND {_FINISHED_AT} < :before "
                "AND EXISTS (SELECT 1 FROM batch_requests r WHERE r.batch_id = batches.id) "
                "ORDER BY seq LIMIT :n",
                {"before": finished_before, "n": limit, **_FINISHED_PARAMS},
            )
            if not picked:
                return 0, 0
            marks, params = _marks([r["id"] for r in picked])
            rows = await tx.execute(f"DELETE FROM batch_requests WHERE batch_id IN ({marks})", params)
        return len(picked), rows
