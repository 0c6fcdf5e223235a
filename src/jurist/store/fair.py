"""Weighted fair claims: start-time fair queueing over the request-line queue, with virtual-time tags.

Every queued line carries a ``fair_tag``; a claim takes the lowest tags first, walking the index
``(model, state, fair_tag, batch_seq, line)`` and stopping at its limit, so it costs the same whatever
the queue's size and needs no lock beyond the rows it takes (SKIP LOCKED). Fairness lives in the tags,
which change only when the set of running batches changes, never per claim:

* A *flow* is one in-progress batch's lines of one model (a row of ``fair_flows``). An account (a
  tenant's id before any ``/``) shares a model by its weight (``tenants.weight``, else the configured
  default), and the account's flows on that model share its share: a flow's lines are
  ``stride = the account's flows on the model ÷ weight`` apart in virtual time. Weights 2 and 1 are
  claimed 2:1; one account's two batches alternate inside its share.
* The virtual time ``V`` of a model is the tag the next claim would take (the lowest tag of a claimable
  line); with nothing claimable, the highest tag running or waiting (so a new batch does not jump
  ahead of lines being retried); on an idle model, 0.
* While a batch validates, its lines are *parked* at ``PARK + rank`` (``rank``: the line's ordinal
  among the batch's lines of its model), past every real tag and outside the claim's range. When the
  batch starts they get ``V + rank × stride``: its first line is the next one claimed.
* When an account's number of flows on a model changes (one of its batches starts, or leaves
  in_progress), its other flows there are re-spaced around ``V`` (``V + (tag − V) × new ÷ old
  stride``, one UPDATE per flow), so the account's total share stays its weight. Each flow's stride is
  stored: a rebalance after a weight change, or after one a crash skipped, sets everything right.
  A line that goes back to the queue (a retry, an expired lease) keeps its tag.

Cost: O(the account's queued lines) once per batch start or finish. Rebalances of one account are
serialised by a PostgreSQL transaction-scoped advisory lock (SQLite's writer lock already does it),
taken first in a transaction of their own, so they cannot deadlock with claims or results, which never
wait for it.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable

from jurist.protocol.batches import BatchStatus
from jurist.store.database import Database, Dialect, Tx
from jurist.store.records import LineState

log = logging.getLogger("jurist.store.fair")
PARK = float(2**50)  # parked tags start here; exact for ranks below 2**52 - 2**50
_LOCK_SPACE = 5947  # the advisory-lock namespace (two-key form) of fair rebalances
_QUEUED, _RUNNING = LineState.QUEUED.value, LineState.RUNNING.value
_IN_PROGRESS = BatchStatus.IN_PROGRESS.value
# A flow's queued lines, found through the batch's primary key: ``|| ''`` keeps SQLite's planner off the
# claim index, which it would otherwise pick (and scan every queued line of the model).
_THIS_FLOW = "model || '' = :m AND state || '' = :q"


def account_of(tenant: str) -> str:
    """The account a batch's tenant belongs to (``acct/on-behalf-of`` → ``acct``): its weight applies."""
    return tenant.split("/", 1)[0]


class FairShare:
    """The tags of the lines of one database. The ``*_in`` methods run inside the caller's transaction,
    which must have taken ``lock`` for the account first; the others open their own."""

    def __init__(self, db: Database, default_weight: float = 1.0) -> None:
        self._db = db
        self._dialect: Dialect = db.dialect
        self.default_weight = default_weight

    # --------------------------------------------------------- inside a transaction
    async def lock(self, tx: Tx, account: str) -> None:
        """Serialise the account's rebalances (until the transaction ends)."""
        if self._dialect == "postgresql":
            await tx.execute(f"SELECT pg_advisory_xact_lock({_LOCK_SPACE}, hashtext(:a))", {"a": account})

    async def next_ranks(self, tx: Tx, batch_id: str, models: Iterable[str]) -> dict[str, int]:
        """Per model, the rank the batch's next parked line of that model gets (lines already parked,
        by earlier chunks, count)."""
        ranks = {}
        for model in models:
            row = await tx.fetchone(
                "SELECT fair_tag FROM batch_requests WHERE batch_id = :b AND model = :m "
                "ORDER BY line DESC LIMIT 1",
                {"b": batch_id, "m": model},
            )
            tag = float(row["fair_tag"]) if row else -1.0
            ranks[model] = int(tag - PARK) + 1 if tag >= PARK else 0
        return ranks

    async def start_in(self, tx: Tx, batch_id: str, account: str, now: float) -> None:
        """The batch has just become in_progress: a flow per model of its parked lines, tags for them,
        and the account's other flows re-spaced."""
        rows = await tx.fetchall(
            "SELECT DISTINCT model FROM batch_requests "
            "WHERE batch_id = :b AND state = :q AND fair_tag >= :park",
            {"b": batch_id, "q": _QUEUED, "park": PARK},
        )
        if rows:
            await tx.executemany(
                "INSERT INTO fair_flows (batch_id, model, account, stride) VALUES (:b, :m, :a, NULL)",
                [{"b": batch_id, "m": r["model"], "a": account} for r in rows],
            )
        await self.rebalance_in(tx, account, now)

    async def rebalance_in(self, tx: Tx, account: str, now: float) -> None:
        """Forget the account's flows whose batch left in_progress; give each remaining flow the stride
        its share asks for (re-spacing its queued lines around the model's virtual time)."""
        await tx.execute(
            "DELETE FROM fair_flows WHERE account = :a AND batch_id NOT IN "
            "(SELECT id FROM batches WHERE status = :p)",
            {"a": account, "p": _IN_PROGRESS},
        )
        flows = await tx.fetchall(
            "SELECT batch_id, model, stride FROM fair_flows WHERE account = :a ORDER BY batch_id, model",
            {"a": account},
        )
        if not flows:
            return
        weight = await self.weight_in(tx, account)
        per_model = Counter(f["model"] for f in flows)
        clocks: dict[str, float] = {}
        for flow in flows:
            model, old = flow["model"], flow["stride"]
            target = per_model[model] / weight
            if old is not None and math.isclose(old, target, rel_tol=1e-9):
                continue
            if model not in clocks:
                clocks[model] = await self.virtual_time_in(tx, model, now)
            where = {"b": flow["batch_id"], "m": model, "q": _QUEUED, "park": PARK, "v": clocks[model]}
            if old is None:  # a new flow: its parked lines join the queue at V
                await tx.execute(
                    "UPDATE batch_requests SET fair_tag = :v + (fair_tag - :park) * :s "
                    f"WHERE batch_id = :b AND {_THIS_FLOW} AND fair_tag >= :park",
                    {**where, "s": target},
                )
            else:
                await tx.execute(
                    "UPDATE batch_requests SET fair_tag = :v + (fair_tag - :v) * :r "
                    f"WHERE batch_id = :b AND {_THIS_FLOW} AND fair_tag < :park",
                    {**where, "r": target / old},
                )
            await tx.execute(
                "UPDATE fair_flows SET stride = :s WHERE batch_id = :b AND model = :m",
                {"s": target, "b": flow["batch_id"], "m": model},
            )

    async def weight_in(self, tx: Tx, account: str) -> float:
        row = await tx.fetchone("SELECT weight FROM tenants WHERE id = :a", {"a": account})
        weight = float(row["weight"]) if row and row["weight"] is not None else 0.0
        return weight if weight > 0 else self.default_weight

    async def virtual_time_in(self, tx: Tx, model: str, now: float) -> float:
        """The model's virtual time (see the module's docstring)."""
        row = await tx.fetchone(
            "SELECT fair_tag FROM batch_requests WHERE model = :m AND state = :q AND fair_tag < :park "
            "AND not_before <= :now AND batch_id IN (SELECT id FROM batches WHERE status = :p) "
            "ORDER BY fair_tag LIMIT 1",
            {"m": model, "q": _QUEUED, "park": PARK, "now": now, "p": _IN_PROGRESS},
        )
        if row is not None:
            return float(row["fair_tag"])
        latest = 0.0
        for state in (_RUNNING, _QUEUED):
            row = await tx.fetchone(
                "SELECT fair_tag FROM batch_requests WHERE model = :m AND state = :s AND fair_tag < :park "
                "ORDER BY fair_tag DESC LIMIT 1",
                {"m": model, "s": state, "park": PARK},
            )
            if row is not None:
                latest = max(latest, float(row["fair_tag"]))
        return latest

    # ------------------------------------------------------- own transactions
    async def rebalance(self, account: str, now: float) -> None:
        """Re-space an account's queued lines to its current weight and batches (after a weight
        change; the runner calls it itself when a batch starts or finishes)."""
        async with self._db.transaction() as tx:
            await self.lock(tx, account)
            await self.rebalance_in(tx, account, now)

    async def rebalance_tenants(self, tenants: Iterable[str], now: float) -> None:
        """``rebalance`` the accounts of these tenants (owners of batches that just left in_progress).
        Called after the change committed, so it never fails its caller: a rebalance that fails is only
        logged, and the account's next one (any start or finish of its batches) does its work."""
        for account in sorted({account_of(t) for t in tenants}):
            try:
                await self.rebalance(account, now)
            except Exception:
                log.exception("re-spacing the queued lines of %s failed; its next rebalance will", account)
