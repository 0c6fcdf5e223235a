"""The one store implementation, over either database (see ``database``).

Only the claim statements differ by dialect: PostgreSQL locks candidate rows with
``FOR UPDATE SKIP LOCKED`` so any number of workers can claim at once; SQLite serialises writers with
``BEGIN IMMEDIATE`` and claims with ``UPDATE … RETURNING``. A result is accepted only from the worker
whose lease is still on the row, so every line gets exactly one result, across crashes too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from jurist.store.database import Database, Row, Tx
from jurist.store.records import (
    CANCELLING,
    FINALIZING,
    IN_PROGRESS,
    LINE_EXPIRED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    VALIDATING,
    BatchRecord,
    ClaimedRequest,
    FileRecord,
    FinishedLine,
    Page,
    RequestLine,
    RequestResult,
)

_BATCH_JSON = ("metadata", "errors")
_BATCH_COLUMNS = (
    "id", "tenant", "endpoint", "input_file_id", "completion_window", "status", "outcome", "model",
    "metadata", "errors", "output_file_id", "error_file_id", "created_at", "expires_at", "in_progress_at",
    "finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at", "cancelled_at", "total",
    "completed", "failed", "input_tokens", "output_tokens", "idempotency_key",
)  # fmt: skip
_FILE_COLUMNS = ("id", "tenant", "purpose", "filename", "bytes", "created_at", "expires_at", "storage")


def _batch(row: Row) -> BatchRecord:
    data = {k: row[k] for k in _BATCH_COLUMNS}
    for key in _BATCH_JSON:
        data[key] = json.loads(data[key]) if data[key] is not None else None
    return BatchRecord(**data)


def _file(row: Row) -> FileRecord:
    return FileRecord(**{k: row[k] for k in _FILE_COLUMNS})


class SqlStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._skip_locked = " FOR UPDATE SKIP LOCKED" if db.dialect == "postgresql" else ""

    # ---------------------------------------------------------------- files
    async def insert_file(self, record: FileRecord, tx: Tx | None = None) -> None:
        sql = (
            "INSERT INTO files (id, tenant, purpose, filename, bytes, created_at, expires_at, storage) "
            "VALUES (:id, :tenant, :purpose, :filename, :bytes, :created_at, :expires_at, :storage)"
        )
        params = {k: getattr(record, k) for k in _FILE_COLUMNS}
        if tx is not None:
            await tx.execute(sql, params)
            return
        async with self.db.transaction() as own:
            await own.execute(sql, params)

    async def get_file(self, tenant: str, file_id: str) -> FileRecord | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM files WHERE id = :id AND tenant = :t", {"id": file_id, "t": tenant}
            )
        return _file(row) if row else None

    async def list_files(
        self, tenant: str, *, purpose: str | None, after: str | None, limit: int, order: str
    ) -> Page:
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
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(sql, params)
        return Page([_file(r) for r in rows[:limit]], len(rows) > limit)

    async def delete_file(self, tenant: str, file_id: str) -> FileRecord | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM files WHERE id = :id AND tenant = :t", {"id": file_id, "t": tenant}
            )
            if row is None:
                return None
            await tx.execute("DELETE FROM files WHERE id = :id", {"id": file_id})
            await tx.execute("DELETE FROM file_chunks WHERE file_id = :id", {"id": file_id})
        return _file(row)

    async def tenant_bytes(self, tenant: str) -> int:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT COALESCE(SUM(bytes), 0) AS n FROM files WHERE tenant = :t", {"t": tenant}
            )
        return int(row["n"]) if row else 0

    async def put_chunk(self, file_id: str, part: int, data: bytes) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO file_chunks (file_id, part, data) VALUES (:f, :p, :d) "
                "ON CONFLICT (file_id, part) DO UPDATE SET data = excluded.data",
                {"f": file_id, "p": part, "d": data},
            )

    async def get_chunk(self, file_id: str, part: int) -> bytes | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT data FROM file_chunks WHERE file_id = :f AND part = :p", {"f": file_id, "p": part}
            )
        return bytes(row["data"]) if row else None

    async def drop_chunks(self, file_id: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM file_chunks WHERE file_id = :f", {"f": file_id})

    # -------------------------------------------------------------- batches
    async def insert_batch(self, record: BatchRecord) -> None:
        params = {k: getattr(record, k) for k in _BATCH_COLUMNS}
        for key in _BATCH_JSON:
            params[key] = json.dumps(params[key]) if params[key] is not None else None
        columns = ", ".join(_BATCH_COLUMNS)
        values = ", ".join(f":{k}" for k in _BATCH_COLUMNS)
        async with self.db.transaction() as tx:
            await tx.execute(f"INSERT INTO batches ({columns}) VALUES ({values})", params)

    async def batch_by_idempotency_key(self, tenant: str, key: str) -> BatchRecord | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM batches WHERE tenant = :t AND idempotency_key = :k", {"t": tenant, "k": key}
            )
        return _batch(row) if row else None

    async def get_batch(self, tenant: str | None, batch_id: str) -> BatchRecord | None:
        sql, params = "SELECT * FROM batches WHERE id = :id", {"id": batch_id}
        if tenant is not None:
            sql, params = sql + " AND tenant = :t", {**params, "t": tenant}
        async with self.db.transaction() as tx:
            row = await tx.fetchone(sql, params)
        return _batch(row) if row else None

    async def list_batches(self, tenant: str, *, after: str | None, limit: int) -> Page:
        where, params = "tenant = :t", {"t": tenant, "n": limit + 1}
        if after:
            where += " AND seq < (SELECT seq FROM batches WHERE id = :after AND tenant = :t)"
            params["after"] = after
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                f"SELECT * FROM batches WHERE {where} ORDER BY seq DESC LIMIT :n", params
            )
        return Page([_batch(r) for r in rows[:limit]], len(rows) > limit)

    async def request_cancel(self, tenant: str, batch_id: str, now: int) -> BatchRecord | None:
        """validating / in_progress / finalizing → cancelling (compare-and-set); returns the batch."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE batches SET status = :c, cancelling_at = :now, outcome = 'cancelled', task_until = NULL "
                "WHERE id = :id AND tenant = :t AND status IN (:v, :p, :f)",
                {
                    "c": CANCELLING,
                    "now": now,
                    "id": batch_id,
                    "t": tenant,
                    "v": VALIDATING,
                    "p": IN_PROGRESS,
                    "f": FINALIZING,
                },
            )
            row = await tx.fetchone(
                "SELECT * FROM batches WHERE id = :id AND tenant = :t", {"id": batch_id, "t": tenant}
            )
        return _batch(row) if row else None

    # ------------------------------------------------------- batch-level tasks
    async def claim_batch_task(self, owner: str, now: float, lease_seconds: float) -> BatchRecord | None:
        """One batch needing batch-level work: validation, finalizing, a cancel, or expiry."""
        pick = (
            "SELECT id FROM batches WHERE (task_until IS NULL OR task_until < :now) AND ("
            " status IN (:v, :f, :c) OR (status = :p AND expires_at IS NOT NULL AND expires_at < :now))"
            f" ORDER BY seq LIMIT 1{self._skip_locked}"
        )
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                f"UPDATE batches SET task_owner = :owner, task_until = :until WHERE id = ({pick}) RETURNING *",
                {
                    "owner": owner,
                    "until": now + lease_seconds,
                    "now": now,
                    "v": VALIDATING,
                    "f": FINALIZING,
                    "c": CANCELLING,
                    "p": IN_PROGRESS,
                },
            )
        return _batch(row) if row else None

    async def extend_batch_task(self, batch_id: str, owner: str, until: float) -> bool:
        async with self.db.transaction() as tx:
            n = await tx.execute(
                "UPDATE batches SET task_until = :u WHERE id = :id AND task_owner = :o",
                {"u": until, "id": batch_id, "o": owner},
            )
        return n == 1

    async def release_batch_task(self, batch_id: str, owner: str, retry_at: float | None = None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE batches SET task_owner = NULL, task_until = :u WHERE id = :id AND task_owner = :o",
                {"u": retry_at, "id": batch_id, "o": owner},
            )

    async def clear_requests(self, batch_id: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM batch_requests WHERE batch_id = :b", {"b": batch_id})
            await tx.execute(
                "UPDATE batches SET completed = 0, failed = 0, input_tokens = 0, output_tokens = 0 WHERE id = :b",
                {"b": batch_id},
            )

    async def add_requests(
        self, batch_id: str, lines: Sequence[RequestLine], answered: tuple[int, int, int] = (0, 0, 0)
    ) -> None:
        """Queue lines, and count ``answered`` = (lines, input tokens, output tokens) that the judge cache
        finished at validation (they live in the batch's spool, not in this table)."""
        async with self.db.transaction() as tx:
            if any(answered):
                await tx.execute(
                    "UPDATE batches SET completed = completed + :n, input_tokens = input_tokens + :tin, "
                    "output_tokens = output_tokens + :tout WHERE id = :b",
                    {"n": answered[0], "tin": answered[1], "tout": answered[2], "b": batch_id},
                )
            if not lines:
                return
            row = await tx.fetchone("SELECT seq FROM batches WHERE id = :b", {"b": batch_id})
            seq = row["seq"] if row else 0
            await tx.executemany(
                "INSERT INTO batch_requests (batch_id, batch_seq, line, custom_id, model, body, state) "
                "VALUES (:b, :seq, :line, :cid, :model, :body, :state)",
                [
                    {"b": batch_id, "seq": seq, "line": r.line, "cid": r.custom_id, "model": r.model, "body": r.body,
                     "state": QUEUED}
                    for r in lines
                ],
            )  # fmt: skip

    async def start_batch(self, batch_id: str, owner: str, total: int, model: str, now: int) -> bool:
        """validating → in_progress, only for the task's owner."""
        async with self.db.transaction() as tx:
            n = await tx.execute(
                "UPDATE batches SET status = :p, in_progress_at = :now, total = :total, model = :model, "
                "task_owner = NULL, task_until = NULL WHERE id = :id AND status = :v AND task_owner = :o",
                {
                    "p": IN_PROGRESS,
                    "now": now,
                    "total": total,
                    "model": model,
                    "id": batch_id,
                    "v": VALIDATING,
                    "o": owner,
                },
            )
            if n == 1:  # every line was already answered (judge cache): straight to finalizing
                await tx.execute(
                    "UPDATE batches SET status = :f, outcome = 'completed', finalizing_at = :now "
                    "WHERE id = :id AND status = :p AND completed + failed >= total",
                    {"f": FINALIZING, "now": now, "id": batch_id, "p": IN_PROGRESS},
                )
        return n == 1

    async def fail_batch(self, batch_id: str, owner: str, errors: list[dict[str, Any]], now: int) -> bool:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM batch_requests WHERE batch_id = :b", {"b": batch_id})
            n = await tx.execute(
                "UPDATE batches SET status = 'failed', failed_at = :now, errors = :e, task_owner = NULL, task_until = NULL, "
                "completed = 0, failed = 0, input_tokens = 0, output_tokens = 0 "
                "WHERE id = :id AND status = :v AND task_owner = :o",
                {"now": now, "e": json.dumps(errors), "id": batch_id, "v": VALIDATING, "o": owner},
            )
        return n == 1

    async def expire_open_lines(self, batch_id: str, owner: str, now: int) -> int:
        """in_progress past its window: open lines become expired errors; the batch goes to finalizing."""
        async with self.db.transaction() as tx:
            n = await tx.execute(
                "UPDATE batch_requests SET state = :x, lease_owner = NULL, lease_until = NULL "
                "WHERE batch_id = :b AND state IN (:q, :r)",
                {"x": LINE_EXPIRED, "b": batch_id, "q": QUEUED, "r": RUNNING},
            )
            await tx.execute(
                "UPDATE batches SET failed = failed + :n, status = :f, outcome = 'expired', finalizing_at = :now "
                "WHERE id = :id AND status = :p AND task_owner = :o",
                {"n": n, "f": FINALIZING, "now": now, "id": batch_id, "p": IN_PROGRESS, "o": owner},
            )
        return n

    async def settle_cancel(self, batch_id: str, now: float) -> int:
        """For a cancelling batch: lines whose worker died go back to the queue (left undone); returns
        how many lines are still running under a live lease."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE batch_requests SET state = :q, lease_owner = NULL, lease_until = NULL "
                "WHERE batch_id = :b AND state = :r AND lease_until < :now",
                {"q": QUEUED, "b": batch_id, "r": RUNNING, "now": now},
            )
            row = await tx.fetchone(
                "SELECT COUNT(*) AS n FROM batch_requests WHERE batch_id = :b AND state = :r",
                {"b": batch_id, "r": RUNNING},
            )
        return int(row["n"]) if row else 0

    async def finished_lines(self, batch_id: str, after_line: int, limit: int) -> list[FinishedLine]:
        """Finished lines in input order, a page at a time (keyset on the line number)."""
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT line, custom_id, state, response, request_id FROM batch_requests "
                "WHERE batch_id = :b AND line > :after AND state NOT IN (:q, :r) ORDER BY line LIMIT :n",
                {"b": batch_id, "after": after_line, "q": QUEUED, "r": RUNNING, "n": limit},
            )
        return [
            FinishedLine(r["line"], r["custom_id"], r["state"], r["response"], r["request_id"]) for r in rows
        ]

    async def finish_batch(
        self,
        batch_id: str,
        owner: str,
        files: Sequence[FileRecord],
        output_id: str | None,
        error_id: str | None,
        now: int,
    ) -> bool:
        """finalizing / cancelling → the batch's outcome (completed, expired or cancelled, read from the
        row so a cancel that raced the finalize wins), with its output files, in one transaction."""
        async with self.db.transaction() as tx:
            n = await tx.execute(
                "UPDATE batches SET status = COALESCE(outcome, 'completed'), "
                "completed_at = CASE WHEN COALESCE(outcome, 'completed') = 'completed' THEN :now ELSE completed_at END, "
                "expired_at = CASE WHEN outcome = 'expired' THEN :now ELSE expired_at END, "
                "cancelled_at = CASE WHEN outcome = 'cancelled' THEN :now ELSE cancelled_at END, "
                "output_file_id = :out, error_file_id = :err, task_owner = NULL, task_until = NULL "
                "WHERE id = :id AND status IN (:f, :c) AND task_owner = :o",
                {
                    "now": now,
                    "out": output_id,
                    "err": error_id,
                    "id": batch_id,
                    "f": FINALIZING,
                    "c": CANCELLING,
                    "o": owner,
                },
            )
            if n == 1:
                for record in files:
                    await self.insert_file(record, tx)
                # lines a cancel left undone leave the queue for good
                await tx.execute(
                    "UPDATE batch_requests SET state = 'cancelled' WHERE batch_id = :id AND state = :q",
                    {"id": batch_id, "q": QUEUED},
                )
        return n == 1

    # ------------------------------------------------------------ requests
    async def reclaim_expired(self, now: float) -> int:
        """Lines whose worker stopped heart-beating go back to the queue."""
        async with self.db.transaction() as tx:
            return await tx.execute(
                "UPDATE batch_requests SET state = :q, lease_owner = NULL, lease_until = NULL "
                "WHERE state = :r AND lease_until < :now AND batch_id IN (SELECT id FROM batches WHERE status = :p)",
                {"q": QUEUED, "r": RUNNING, "now": now, "p": IN_PROGRESS},
            )

    async def claim_requests(
        self, owner: str, model: str, limit: int, now: float, lease_seconds: float
    ) -> list[ClaimedRequest]:
        # Walks the (model, state, batch_seq, line) index in order and stops at the limit: oldest batch
        # first, input order within it, whatever the queue's size.
        pick = (
            "SELECT batch_id, line FROM batch_requests "
            "WHERE model = :m AND state = :q AND not_before <= :now "
            "AND batch_id IN (SELECT id FROM batches WHERE status = :p) "
            f"ORDER BY batch_seq, line LIMIT :n{self._skip_locked}"
        )
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "UPDATE batch_requests SET state = :r, lease_owner = :o, lease_until = :until, attempts = attempts + 1 "
                f"WHERE (batch_id, line) IN ({pick}) RETURNING batch_id, line, custom_id, model, body, attempts",
                {
                    "r": RUNNING,
                    "o": owner,
                    "until": now + lease_seconds,
                    "q": QUEUED,
                    "m": model,
                    "now": now,
                    "p": IN_PROGRESS,
                    "n": limit,
                },
            )
        return [
            ClaimedRequest(r["batch_id"], r["line"], r["custom_id"], r["model"], r["body"], r["attempts"])
            for r in rows
        ]

    async def heartbeat(self, owner: str, until: float) -> int:
        async with self.db.transaction() as tx:
            return await tx.execute(
                "UPDATE batch_requests SET lease_until = :u WHERE lease_owner = :o AND state = :r",
                {"u": until, "o": owner, "r": RUNNING},
            )

    async def retry_later(self, owner: str, batch_id: str, line: int, not_before: float) -> bool:
        async with self.db.transaction() as tx:
            n = await tx.execute(
                "UPDATE batch_requests SET state = :q, not_before = :nb, lease_owner = NULL, lease_until = NULL "
                "WHERE batch_id = :b AND line = :l AND state = :r AND lease_owner = :o",
                {"q": QUEUED, "nb": not_before, "b": batch_id, "l": line, "r": RUNNING, "o": owner},
            )
        return n == 1

    async def record_results(self, owner: str, results: Sequence[RequestResult], now: int) -> int:
        """Store finished lines (only those whose lease this worker still holds) and bump the
        batches' counters in the same transaction; a batch whose last line finished goes to
        finalizing. Returns how many results were accepted. A constant number of statements per
        call, whatever the number of results (one ``executemany`` for the lines)."""
        if not results:
            return 0
        accepted: list[RequestResult] = []
        async with self.db.transaction() as tx:
            by_batch: dict[str, dict[int, RequestResult]] = {}
            for r in results:
                by_batch.setdefault(r.batch_id, {})[r.line] = r
            for batch_id, lines in by_batch.items():
                marks = ", ".join(f":l{i}" for i in range(len(lines)))
                params: dict[str, Any] = {f"l{i}": line for i, line in enumerate(lines)}
                rows = await tx.fetchall(
                    f"SELECT line FROM batch_requests WHERE batch_id = :b AND state = :r AND lease_owner = :o "
                    f"AND line IN ({marks}){' FOR UPDATE' if self._skip_locked else ''}",
                    {**params, "b": batch_id, "r": RUNNING, "o": owner},
                )
                accepted += [lines[row["line"]] for row in rows]
            if not accepted:
                return 0
            await tx.executemany(
                "UPDATE batch_requests SET state = :s, status_code = :c, request_id = :rid, response = :resp, "
                "lease_owner = NULL, lease_until = NULL WHERE batch_id = :b AND line = :l",
                [{"s": SUCCEEDED if r.succeeded else "errored", "c": r.status_code, "rid": r.request_id,
                  "resp": r.response, "b": r.batch_id, "l": r.line} for r in accepted],
            )  # fmt: skip
            per_batch: dict[str, list[int]] = {}
            for r in accepted:
                counts = per_batch.setdefault(r.batch_id, [0, 0, 0, 0])
                counts[0 if r.succeeded else 1] += 1
                counts[2] += r.input_tokens
                counts[3] += r.output_tokens
            for batch_id, (ok, bad, tin, tout) in per_batch.items():
                await tx.execute(
                    "UPDATE batches SET completed = completed + :ok, failed = failed + :bad, "
                    "input_tokens = input_tokens + :tin, output_tokens = output_tokens + :tout WHERE id = :id",
                    {"ok": ok, "bad": bad, "tin": tin, "tout": tout, "id": batch_id},
                )
                await tx.execute(
                    "UPDATE batches SET status = :f, outcome = 'completed', finalizing_at = :now "
                    "WHERE id = :id AND status = :p AND completed + failed >= total",
                    {"f": FINALIZING, "now": now, "id": batch_id, "p": IN_PROGRESS},
                )
        return len(accepted)

    async def queue_depth(self) -> dict[str, int]:
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT model, COUNT(*) AS n FROM batch_requests WHERE state = :q GROUP BY model",
                {"q": QUEUED},
            )
        return {r["model"]: int(r["n"]) for r in rows}

    # --------------------------------------------------------------- cache
    async def cache_get(self, key: str) -> str | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone("SELECT response FROM judge_cache WHERE key = :k", {"k": key})
        return str(row["response"]) if row else None

    async def cache_get_many(self, keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        async with self.db.transaction() as tx:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ", ".join(f":k{i}" for i in range(len(chunk)))
                rows = await tx.fetchall(
                    f"SELECT key, response FROM judge_cache WHERE key IN ({marks})",
                    {f"k{i}": k for i, k in enumerate(chunk)},
                )
                found.update({r["key"]: str(r["response"]) for r in rows})
        return found

    async def cache_put(self, key: str, model: str, response: str, now: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO judge_cache (key, model, response, created_at) VALUES (:k, :m, :r, :t) "
                "ON CONFLICT (key) DO NOTHING",
                {"k": key, "m": model, "r": response, "t": now},
            )

    async def ping(self) -> None:
        async with self.db.transaction() as tx:
            await tx.fetchone("SELECT 1 AS one")
