"""Batches as the API sees them: create (at most one per idempotency key), get, list, ask to cancel.
The runner's side of a batch (its task lease, lines, outcome) is ``store.batch_tasks``."""

from __future__ import annotations

import json
from typing import Any, Protocol

from jurist.protocol.batches import BatchStatus
from jurist.store.database import Database, Row
from jurist.store.notify import BATCH_TASKS, announce, notifies
from jurist.store.records import BatchRecord, Page

_JSON = ("metadata", "errors")
_COLUMNS = (
    "id", "tenant", "endpoint", "input_file_id", "completion_window", "status", "outcome", "model",
    "metadata", "errors", "output_file_id", "error_file_id", "created_at", "expires_at", "in_progress_at",
    "finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at", "cancelled_at", "total",
    "completed", "failed", "input_tokens", "output_tokens", "idempotency_key",
)  # fmt: skip
_INSERT = f"INSERT INTO batches ({', '.join(_COLUMNS)}) VALUES ({', '.join(f':{c}' for c in _COLUMNS)})"
_BY_ID = "SELECT * FROM batches WHERE id = :id AND tenant = :t"


class BatchStore(Protocol):
    async def insert(self, record: BatchRecord) -> None:
        """Raises ``Conflict`` when the tenant already has a batch with the record's idempotency key."""
        ...

    async def get(self, tenant: str, batch_id: str) -> BatchRecord | None: ...

    async def by_idempotency_key(self, tenant: str, key: str) -> BatchRecord | None: ...

    async def page(self, tenant: str, *, after: str | None, limit: int) -> Page[BatchRecord]:
        """The tenant's batches, newest first."""
        ...

    async def request_cancel(self, tenant: str, batch_id: str, now: int) -> BatchRecord | None:
        """validating / in_progress / finalizing → cancelling; the batch as it is then (None: no such
        batch). A batch in any other status is returned unchanged."""
        ...


def batch_from_row(row: Row) -> BatchRecord:
    data = {k: row[k] for k in _COLUMNS}
    for key in _JSON:
        data[key] = json.loads(data[key]) if data[key] is not None else None
    data["status"] = BatchStatus(data["status"])
    if data["outcome"] is not None:
        data["outcome"] = BatchStatus(data["outcome"])
    return BatchRecord(**data)


def _batch_params(record: BatchRecord) -> dict[str, Any]:
    params = {k: getattr(record, k) for k in _COLUMNS}
    for key in _JSON:
        params[key] = json.dumps(params[key]) if params[key] is not None else None
    return params


class SqlBatchStore:
    def __init__(self, db: Database, notify: bool = True) -> None:
        self._db = db
        self._notify = notifies(db, notify)

    async def insert(self, record: BatchRecord) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(_INSERT, _batch_params(record))
            if self._notify:  # a worker validates it
                await announce(tx, BATCH_TASKS)

    async def get(self, tenant: str, batch_id: str) -> BatchRecord | None:
        async with self._db.read() as tx:
            row = await tx.fetchone(_BY_ID, {"id": batch_id, "t": tenant})
        return batch_from_row(row) if row else None

    async def by_idempotency_key(self, tenant: str, key: str) -> BatchRecord | None:
        async with self._db.read() as tx:
            row = await tx.fetchone(
                "SELECT * FROM batches WHERE tenant = :t AND idempotency_key = :k", {"t": tenant, "k": key}
            )
        return batch_from_row(row) if row else None

    async def page(self, tenant: str, *, after: str | None, limit: int) -> Page[BatchRecord]:
        where, params = "tenant = :t", {"t": tenant, "n": limit + 1}
        if after:
            where += " AND seq < (SELECT seq FROM batches WHERE id = :after AND tenant = :t)"
            params["after"] = after
        async with self._db.read() as tx:
            rows = await tx.fetchall(
                f"SELECT * FROM batches WHERE {where} ORDER BY seq DESC LIMIT :n", params
            )
        return Page([batch_from_row(r) for r in rows[:limit]], len(rows) > limit)

    async def request_cancel(self, tenant: str, batch_id: str, now: int) -> BatchRecord | None:
        async with self._db.transaction() as tx:
            cancelled = await tx.execute(
                "UPDATE batches SET status = :status, cancelling_at = :now, outcome = :outcome, "
                "task_until = NULL WHERE id = :id AND tenant = :t AND status IN (:v, :p, :f)",
                {
                    "status": BatchStatus.CANCELLING,
                    "outcome": BatchStatus.CANCELLED,
                    "now": now,
                    "id": batch_id,
                    "t": tenant,
                    "v": BatchStatus.VALIDATING,
                    "p": BatchStatus.IN_PROGRESS,
                    "f": BatchStatus.FINALIZING,
                },
            )
            if cancelled and self._notify:  # a worker settles the cancel
                await announce(tx, BATCH_TASKS)
            row = await tx.fetchone(_BY_ID, {"id": batch_id, "t": tenant})
        return batch_from_row(row) if row else None
