"""The runner's side of a batch: batch-level tasks under a lease (validate, expire, settle a cancel,
finalize) and the status moves they make. Every move is a compare-and-set on the status and the task's
owner, so a worker that lost its lease changes nothing. The request lines themselves are worked off
through ``store.queue``.

    validating ─→ in_progress ─→ finalizing ─→ completed | expired | cancelled  (the row's ``outcome``)
        │         (lines done, or past its window)       ↑
        ↓                                                │
      failed        cancelling ──────────────────────────┘  (from any of the first three, on a cancel
                                                             through ``store.batches``)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from jurist.protocol.batches import BatchStatus
from jurist.store.batches import batch_from_row
from jurist.store.database import Database, row_lock
from jurist.store.fair import PARK, FairShare, account_of
from jurist.store.files import insert_files
from jurist.store.notify import BATCH_TASKS, LINES_QUEUED, announce, models_of, notifies
from jurist.store.records import BatchRecord, FileRecord, FinishedLine, LineState, RequestLine

_LINE_STATES = {state.value: state for state in LineState}  # faster than LineState(value), per row
_TO_FINALIZING_WHEN_DONE = (
    "UPDATE batches SET status = :f, outcome = :outcome, finalizing_at = :now "
    "WHERE id = :id AND status = :p AND completed + failed >= total"
)


def finalizing_when_done(batch_id: str, now: int) -> tuple[str, dict[str, Any]]:
    """The statement (and its parameters) that moves an in-progress batch whose every line has
    finished to finalizing, bound for completed."""
    params = {"f": BatchStatus.FINALIZING, "outcome": BatchStatus.COMPLETED, "now": now, "id": batch_id,
              "p": BatchStatus.IN_PROGRESS}  # fmt: skip
    return _TO_FINALIZING_WHEN_DONE, params


class BatchTasks(Protocol):
    async def claim(self, owner: str, now: float, lease_seconds: float) -> BatchRecord | None:
        """One batch needing batch-level work (validation, finalizing, a cancel, or expiry), leased."""
        ...

    async def extend(self, batch_id: str, owner: str, until: float) -> bool: ...

    async def release(self, batch_id: str, owner: str, retry_at: float | None = None) -> None: ...

    async def clear_lines(self, batch_id: str) -> None:
        """Forget lines and counts a previous, interrupted validation left."""
        ...

    async def add_lines(
        self, batch_id: str, lines: Sequence[RequestLine], answered: tuple[int, int, int] = (0, 0, 0)
    ) -> None:
        """Queue lines, and count ``answered`` = (lines, input tokens, output tokens) that the judge
        cache finished at validation (they live in the batch's spool, not in the queue)."""
        ...

    async def start(self, batch_id: str, owner: str, total: int, model: str, now: int) -> bool:
        """validating → in_progress (→ finalizing at once when the cache answered every line)."""
        ...

    async def fail(self, batch_id: str, owner: str, errors: list[dict[str, Any]], now: int) -> bool:
        """validating → failed, with the errors; its lines are dropped."""
        ...

    async def expire_open_lines(self, batch_id: str, owner: str, now: int) -> int:
        """in_progress past its window: open lines become expired errors; the batch goes to finalizing."""
        ...

    async def settle_cancel(self, batch_id: str, now: float) -> int:
        """For a cancelling batch: lines whose worker died go back to the queue (left undone); returns
        how many lines are still running under a live lease."""
        ...

    async def finished_lines(self, batch_id: str, after_line: int, limit: int) -> list[FinishedLine]:
        """Finished lines in input order, a page at a time (keyset on the line number)."""
        ...

    async def finish(
        self, batch_id: str, owner: str, output: FileRecord | None, error: FileRecord | None, now: int
    ) -> bool:
        """finalizing / cancelling → the batch's outcome (completed, expired or cancelled, read from
        the row so a cancel that raced the finalize wins), with its output and error files (each
        stored here, when there is one), in one transaction."""
        ...


class SqlBatchTasks:
    def __init__(self, db: Database, fair: FairShare | None = None, notify: bool = True) -> None:
        self._db = db
        self._notify = notifies(db, notify)
        self._skip_locked = row_lock(db.dialect, skip_locked=True)
        self._fair = fair or FairShare(db)

    async def claim(self, owner: str, now: float, lease_seconds: float) -> BatchRecord | None:
        pick = (
            "SELECT id FROM batches WHERE (task_until IS NULL OR task_until < :now) AND ("
            " status IN (:v, :f, :c) OR (status = :p AND expires_at IS NOT NULL AND expires_at < :now))"
            f" ORDER BY seq LIMIT 1{self._skip_locked}"
        )
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                f"UPDATE batches SET task_owner = :owner, task_until = :until WHERE id = ({pick}) "
                "RETURNING *",
                {
                    "owner": owner,
                    "until": now + lease_seconds,
                    "now": now,
                    "v": BatchStatus.VALIDATING,
                    "f": BatchStatus.FINALIZING,
                    "c": BatchStatus.CANCELLING,
                    "p": BatchStatus.IN_PROGRESS,
                },
            )
        return batch_from_row(row) if row else None

    async def extend(self, batch_id: str, owner: str, until: float) -> bool:
        async with self._db.transaction() as tx:
            n = await tx.execute(
                "UPDATE batches SET task_until = :u WHERE id = :id AND task_owner = :o",
                {"u": until, "id": batch_id, "o": owner},
            )
        return n == 1

    async def release(self, batch_id: str, owner: str, retry_at: float | None = None) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE batches SET task_owner = NULL, task_until = :u WHERE id = :id AND task_owner = :o",
                {"u": retry_at, "id": batch_id, "o": owner},
            )

    async def clear_lines(self, batch_id: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM batch_requests WHERE batch_id = :b", {"b": batch_id})
            await tx.execute(
                "UPDATE batches SET completed = 0, failed = 0, input_tokens = 0, output_tokens = 0 "
                "WHERE id = :b",
                {"b": batch_id},
            )

    async def add_lines(
        self, batch_id: str, lines: Sequence[RequestLine], answered: tuple[int, int, int] = (0, 0, 0)
    ) -> None:
        async with self._db.transaction() as tx:
            if any(answered):
                await tx.execute(
                    "UPDATE batches SET completed = completed + :n, input_tokens = input_tokens + :tin, "
                    "output_tokens = output_tokens + :tout WHERE id = :b",
                    {"n": answered[0], "tin": answered[1], "tout": answered[2], "b": batch_id},
                )
            if not lines:
                return
            row = await tx.fetchone("SELECT seq, tenant FROM batches WHERE id = :b", {"b": batch_id})
            seq, tenant = (row["seq"], row["tenant"]) if row else (0, "")
            queued = LineState.QUEUED.value  # plain str, like the other per-row parameters
            # parked until the batch starts (store.fair): PARK + the line's rank among its model's lines
            ranks = await self._fair.next_ranks(tx, batch_id, {r.model for r in lines})
            rows = []
            for r in lines:
                rank = ranks[r.model]
                ranks[r.model] = rank + 1
                rows.append({"b": batch_id, "seq": seq, "line": r.line, "cid": r.custom_id, "model": r.model,
                             "body": r.body, "state": queued, "t": tenant, "tag": PARK + rank})  # fmt: skip
            await tx.executemany(
                "INSERT INTO batch_requests (batch_id, batch_seq, line, custom_id, model, body, state, "
                "tenant, fair_tag) VALUES (:b, :seq, :line, :cid, :model, :body, :state, :t, :tag)",
                rows,
            )

    async def start(self, batch_id: str, owner: str, total: int, model: str, now: int) -> bool:
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT tenant FROM batches WHERE id = :id", {"id": batch_id})
            account = account_of(row["tenant"]) if row else ""
            await self._fair.lock(tx, account)  # first: store.fair's rule against deadlocks
            n = await tx.execute(
                "UPDATE batches SET status = :p, in_progress_at = :now, total = :total, model = :model, "
                "task_owner = NULL, task_until = NULL WHERE id = :id AND status = :v AND task_owner = :o",
                {
                    "p": BatchStatus.IN_PROGRESS,
                    "now": now,
                    "total": total,
                    "model": model,
                    "id": batch_id,
                    "v": BatchStatus.VALIDATING,
                    "o": owner,
                },
            )
            if n == 1:
                # every line already answered (judge cache): straight to finalizing; else its lines get tags
                done = await tx.execute(*finalizing_when_done(batch_id, now))
                if not done:
                    await self._fair.start_in(tx, batch_id, account, now)
                if self._notify and done:  # other workers: finalize it
                    await announce(tx, BATCH_TASKS)
                elif self._notify:  # other workers: claim its lines
                    await announce(tx, LINES_QUEUED, models_of(model))
        return n == 1

    async def fail(self, batch_id: str, owner: str, errors: list[dict[str, Any]], now: int) -> bool:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM batch_requests WHERE batch_id = :b", {"b": batch_id})
            n = await tx.execute(
                "UPDATE batches SET status = :status, failed_at = :now, errors = :e, task_owner = NULL, "
                "task_until = NULL, completed = 0, failed = 0, input_tokens = 0, output_tokens = 0 "
                "WHERE id = :id AND status = :v AND task_owner = :o",
                {
                    "status": BatchStatus.FAILED,
                    "now": now,
                    "e": json.dumps(errors),
                    "id": batch_id,
                    "v": BatchStatus.VALIDATING,
                    "o": owner,
                },
            )
        return n == 1

    async def expire_open_lines(self, batch_id: str, owner: str, now: int) -> int:
        async with self._db.transaction() as tx:
            n = await tx.execute(
                "UPDATE batch_requests SET state = :x, lease_owner = NULL, lease_until = NULL "
                "WHERE batch_id = :b AND state IN (:q, :r)",
                {"x": LineState.EXPIRED, "b": batch_id, "q": LineState.QUEUED, "r": LineState.RUNNING},
            )
            await tx.execute(
                "UPDATE batches SET failed = failed + :n, status = :f, outcome = :outcome, "
                "finalizing_at = :now WHERE id = :id AND status = :p AND task_owner = :o",
                {
                    "n": n,
                    "f": BatchStatus.FINALIZING,
                    "outcome": BatchStatus.EXPIRED,
                    "now": now,
                    "id": batch_id,
                    "p": BatchStatus.IN_PROGRESS,
                    "o": owner,
                },
            )
        return n

    async def settle_cancel(self, batch_id: str, now: float) -> int:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE batch_requests SET state = :q, lease_owner = NULL, lease_until = NULL "
                "WHERE batch_id = :b AND state = :r AND lease_until < :now",
                {"q": LineState.QUEUED, "b": batch_id, "r": LineState.RUNNING, "now": now},
            )
            # and out of the claims' way: parked (store.fair) until finish marks them cancelled
            await tx.execute(
                "UPDATE batch_requests SET fair_tag = :park WHERE batch_id = :b AND state = :q "
                "AND fair_tag < :park",
                {"park": PARK, "b": batch_id, "q": LineState.QUEUED},
            )
            row = await tx.fetchone(
                "SELECT COUNT(*) AS n FROM batch_requests WHERE batch_id = :b AND state = :r",
                {"b": batch_id, "r": LineState.RUNNING},
            )
        return int(row["n"]) if row else 0

    async def finished_lines(self, batch_id: str, after_line: int, limit: int) -> list[FinishedLine]:
        async with self._db.read() as tx:
            rows = await tx.fetchall(
                "SELECT line, custom_id, state, response, request_id FROM batch_requests "
                "WHERE batch_id = :b AND line > :after AND state NOT IN (:q, :r) ORDER BY line LIMIT :n",
                {"b": batch_id, "after": after_line, "q": LineState.QUEUED, "r": LineState.RUNNING,
                 "n": limit},
            )  # fmt: skip
        return [
            FinishedLine(r["line"], r["custom_id"], _LINE_STATES[r["state"]], r["response"], r["request_id"])
            for r in rows
        ]

    async def finish(
        self, batch_id: str, owner: str, output: FileRecord | None, error: FileRecord | None, now: int
    ) -> bool:
        row = None
        async with self._db.transaction() as tx:
            n = await tx.execute(
                "UPDATE batches SET status = COALESCE(outcome, :completed_status), "
                "completed_at = CASE WHEN COALESCE(outcome, :completed_status) = :completed_status "
                "THEN :now ELSE completed_at END, "
                "expired_at = CASE WHEN outcome = :expired_status THEN :now ELSE expired_at END, "
                "cancelled_at = CASE WHEN outcome = :cancelled_status THEN :now ELSE cancelled_at END, "
                "output_file_id = :out, error_file_id = :err, task_owner = NULL, task_until = NULL "
                "WHERE id = :id AND status IN (:f, :c) AND task_owner = :o",
                {
                    "completed_status": BatchStatus.COMPLETED,
                    "expired_status": BatchStatus.EXPIRED,
                    "cancelled_status": BatchStatus.CANCELLED,
                    "now": now,
                    "out": output.id if output else None,
                    "err": error.id if error else None,
                    "id": batch_id,
                    "f": BatchStatus.FINALIZING,
                    "c": BatchStatus.CANCELLING,
                    "o": owner,
                },
            )
            if n == 1:
                await insert_files(tx, [f for f in (output, error) if f is not None])
                # lines a cancel left undone leave the queue for good
                await tx.execute(
                    "UPDATE batch_requests SET state = :undone WHERE batch_id = :id AND state = :q",
                    {"undone": LineState.CANCELLED, "id": batch_id, "q": LineState.QUEUED},
                )
                row = await tx.fetchone("SELECT tenant FROM batches WHERE id = :id", {"id": batch_id})
        if n == 1 and row is not None:  # its owner's other batches share the owner's weight again
            await self._fair.rebalance_tenants([row["tenant"]], now)
        return n == 1
