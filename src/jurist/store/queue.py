"""The request-line queue of in-progress batches: claims under leases, heartbeats, retries, results.

Only the claim differs by dialect: PostgreSQL locks candidate rows with ``FOR UPDATE SKIP LOCKED`` so
any number of workers can claim at once; SQLite serialises writers with ``BEGIN IMMEDIATE`` and claims
with ``UPDATE … RETURNING``. A result is accepted only from the worker whose lease is still on the
row, so every line gets exactly one result, across crashes too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from jurist.protocol.batches import BatchStatus
from jurist.store.batch_tasks import finalizing_when_done
from jurist.store.database import Database, row_lock
from jurist.store.fair import PARK, FairShare
from jurist.store.notify import BATCH_TASKS, LINES_QUEUED, announce, notifies
from jurist.store.records import ClaimedRequest, LineState, RequestResult


class QueueDepth(Protocol):
    async def depth(self) -> dict[str, int]:
        """Queued lines by model."""
        ...


class LineQueue(QueueDepth, Protocol):
    async def claim(
        self, owner: str, model: str, limit: int, now: float, lease_seconds: float
    ) -> list[ClaimedRequest]:
        """Up to ``limit`` queued lines for ``model``, due by ``now``, in fair order (``store.fair``:
        tenants by weight, a tenant's batches in turn, input order within a batch); each leased to
        ``owner`` until ``now + lease_seconds``."""
        ...

    async def heartbeat(self, owner: str, until: float) -> int:
        """Extend every lease ``owner`` holds; returns how many."""
        ...

    async def retry_later(
        self, owner: str, batch_id: str, line: int, not_before: float, refund: bool = False
    ) -> bool:
        """Back to the queue, not to be claimed before ``not_before`` (only from the lease holder);
        ``refund``: the attempt does not count (the upstream was paused, not the line at fault)."""
        ...

    async def record_results(self, owner: str, results: Sequence[RequestResult], now: int) -> int:
        """Store finished lines (only those whose lease ``owner`` still holds) and bump the batches'
        counters in the same transaction; a batch whose last line finished goes to finalizing.
        Returns how many results were accepted."""
        ...

    async def reclaim_expired(self, now: float) -> int:
        """Lines whose worker stopped heart-beating go back to the queue; returns how many."""
        ...

    async def release(self, owner: str) -> int:
        """A stopping worker gives back the lines it still runs: queued again at once, lease cleared,
        the attempt refunded (the line never ran to an answer); returns how many."""
        ...


class SqlLineQueue:
    def __init__(self, db: Database, fair: FairShare | None = None, notify: bool = True) -> None:
        self._db = db
        self._notify = notifies(db, notify)
        self._skip_locked = row_lock(db.dialect, skip_locked=True)
        self._lock = row_lock(db.dialect)
        self._fair = fair or FairShare(db)

    async def claim(
        self, owner: str, model: str, limit: int, now: float, lease_seconds: float
    ) -> list[ClaimedRequest]:
        # Walks the (model, state, fair_tag, batch_seq, line) index in order, short of the parked lines
        # of batches still validating, and stops at the limit, whatever the queue's size.
        pick = (
            "SELECT batch_id, line FROM batch_requests "
            "WHERE model = :m AND state = :q AND fair_tag < :park AND not_before <= :now "
            "AND batch_id IN (SELECT id FROM batches WHERE status = :p) "
            f"ORDER BY fair_tag, batch_seq, line LIMIT :n{self._skip_locked}"
        )
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "UPDATE batch_requests SET state = :r, lease_owner = :o, lease_until = :until, "
                f"attempts = attempts + 1 WHERE (batch_id, line) IN ({pick}) "
                "RETURNING batch_id, line, custom_id, model, body, attempts, tenant",
                {
                    "r": LineState.RUNNING,
                    "o": owner,
                    "until": now + lease_seconds,
                    "q": LineState.QUEUED,
                    "m": model,
                    "park": PARK,
                    "now": now,
                    "p": BatchStatus.IN_PROGRESS,
                    "n": limit,
                },
            )
        return [
            ClaimedRequest(
                r["batch_id"], r["line"], r["custom_id"], r["model"], r["body"], r["attempts"], r["tenant"]
            )
            for r in rows
        ]

    async def heartbeat(self, owner: str, until: float) -> int:
        async with self._db.transaction() as tx:
            return await tx.execute(
                "UPDATE batch_requests SET lease_until = :u WHERE lease_owner = :o AND state = :r",
                {"u": until, "o": owner, "r": LineState.RUNNING},
            )

    async def retry_later(
        self, owner: str, batch_id: str, line: int, not_before: float, refund: bool = False
    ) -> bool:
        async with self._db.transaction() as tx:
            n = await tx.execute(
                "UPDATE batch_requests SET state = :q, not_before = :nb, lease_owner = NULL, "
                "lease_until = NULL, attempts = attempts - :refund "
                "WHERE batch_id = :b AND line = :l AND state = :r AND lease_owner = :o",
                {"q": LineState.QUEUED, "nb": not_before, "b": batch_id, "l": line, "r": LineState.RUNNING,
                 "o": owner, "refund": 1 if refund else 0},
            )  # fmt: skip
        return n == 1

    async def record_results(self, owner: str, results: Sequence[RequestResult], now: int) -> int:
        # A constant number of statements per call, whatever the number of results (one
        # ``executemany`` for the lines).
        if not results:
            return 0
        accepted: list[RequestResult] = []
        done: list[str] = []  # owners of batches that finished their last line here
        async with self._db.transaction() as tx:
            by_batch: dict[str, dict[int, RequestResult]] = {}
            for r in results:
                by_batch.setdefault(r.batch_id, {})[r.line] = r
            for batch_id, lines in by_batch.items():
                marks = ", ".join(f":l{i}" for i in range(len(lines)))
                params: dict[str, Any] = {f"l{i}": line for i, line in enumerate(lines)}
                rows = await tx.fetchall(
                    "SELECT line FROM batch_requests WHERE batch_id = :b AND state = :r "
                    f"AND lease_owner = :o AND line IN ({marks}){self._lock}",
                    {**params, "b": batch_id, "r": LineState.RUNNING, "o": owner},
                )
                accepted += [lines[row["line"]] for row in rows]
            if not accepted:
                return 0
            # per-row parameters are plain str: the drivers bind an enum member only after a slower lookup
            succeeded, errored = LineState.SUCCEEDED.value, LineState.ERRORED.value
            await tx.executemany(
                "UPDATE batch_requests SET state = :s, status_code = :c, request_id = :rid, "
                "response = :resp, lease_owner = NULL, lease_until = NULL WHERE batch_id = :b AND line = :l",
                [{"s": succeeded if r.succeeded else errored, "c": r.status_code,
                  "rid": r.request_id, "resp": r.response, "b": r.batch_id, "l": r.line} for r in accepted],
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
                    "input_tokens = input_tokens + :tin, output_tokens = output_tokens + :tout "
                    "WHERE id = :id",
                    {"ok": ok, "bad": bad, "tin": tin, "tout": tout, "id": batch_id},
                )
                if await tx.execute(*finalizing_when_done(batch_id, now)):
                    row = await tx.fetchone("SELECT tenant FROM batches WHERE id = :id", {"id": batch_id})
                    done += [row["tenant"]] if row else []
                    if self._notify:  # its last line: the batch waits to be finalized
                        await announce(tx, BATCH_TASKS)
        if done:  # their owners' other batches share the owners' weights again (store.fair)
            await self._fair.rebalance_tenants(done, now)
        return len(accepted)

    async def reclaim_expired(self, now: float) -> int:
        async with self._db.transaction() as tx:
            return await tx.execute(
                "UPDATE batch_requests SET state = :q, lease_owner = NULL, lease_until = NULL "
                "WHERE state = :r AND lease_until < :now "
                "AND batch_id IN (SELECT id FROM batches WHERE status = :p)",
                {"q": LineState.QUEUED, "r": LineState.RUNNING, "now": now, "p": BatchStatus.IN_PROGRESS},
            )

    async def release(self, owner: str) -> int:
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "UPDATE batch_requests SET state = :q, lease_owner = NULL, lease_until = NULL, "
                "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END "
                "WHERE lease_owner = :o AND state = :r RETURNING model",
                {"q": LineState.QUEUED, "o": owner, "r": LineState.RUNNING},
            )
            if rows and self._notify:
                await announce(tx, LINES_QUEUED, models={r["model"] for r in rows})
        return len(rows)

    async def depth(self) -> dict[str, int]:
        async with self._db.read() as tx:
            rows = await tx.fetchall(
                "SELECT model, COUNT(*) AS n FROM batch_requests WHERE state = :q GROUP BY model",
                {"q": LineState.QUEUED},
            )
        return {r["model"]: int(r["n"]) for r in rows}
