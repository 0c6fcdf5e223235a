"""The state of each upstream model shared by every node through the database: a pause (the
provider answered 429 / ``Retry-After``) and a circuit breaker.

One row per model (``upstream_state``):

- ``closed``: calls go through, unless ``paused_until`` is ahead (a pause: every node waits it out).
  ``failures`` counts consecutive failures; at the threshold the circuit opens.
- ``open``: calls fail fast until ``paused_until`` (the cooldown's end); then one caller, on any node,
  wins the half-open probe.
- ``half_open``: the probe (``probe_owner``) is in flight until ``probe_until``; the others keep failing
  fast. The probe's success closes the circuit; its failure re-opens it for another cooldown. A probe
  whose node died is taken over once ``probe_until`` has passed.

Every transition is one conditional ``UPDATE`` on the model's row, so nodes agree without a lock beyond
that row. Times are the callers' clock (seconds since the epoch), like the rate buckets'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from jurist.store.database import Database, Row, Tx

CircuitState = Literal["closed", "open", "half_open"]
_COLUMNS = "state, paused_until, failures, probe_owner, probe_until"


@dataclass(frozen=True)
class Gate:
    """A model's row: whether calls may go to the upstream now."""

    state: CircuitState = "closed"
    paused_until: float = 0.0
    failures: int = 0
    probe_owner: str | None = None
    probe_until: float = 0.0

    def closed_in(self, now: float) -> float:
        """Seconds until ordinary calls may go (0: now). For an open circuit, until the probe is due;
        while a probe is in flight, until it may be taken over."""
        if self.state == "half_open":
            return max(0.0, self.probe_until - now)
        return max(0.0, self.paused_until - now)

    @property
    def healthy(self) -> bool:
        """Closed with no failure on record: a success has nothing to reset."""
        return self.state == "closed" and self.failures == 0


def _gate(row: Row | None) -> Gate:
    if row is None:
        return Gate()
    return Gate(
        row["state"],
        float(row["paused_until"]),
        int(row["failures"]),
        row["probe_owner"],
        float(row["probe_until"]),
    )


class UpstreamState(Protocol):
    async def gate(self, model: str) -> Gate:
        """The model's state (closed, never paused, for a model never seen)."""
        ...

    async def pause(self, model: str, until: float, now: float) -> Gate:
        """No call before ``until`` on any node; only ever extends a pause."""
        ...

    async def record_failure(self, model: str, now: float, threshold: int, cooldown: float) -> Gate:
        """One more failure in a row: at ``threshold`` (or a failed probe) the circuit opens until
        ``now + cooldown``."""
        ...

    async def record_success(self, model: str, now: float) -> Gate | None:
        """Closed, failures 0; None when it already was (nothing written)."""
        ...

    async def try_probe(self, model: str, owner: str, now: float, probe_seconds: float) -> bool:
        """Whether ``owner`` won the half-open probe: true for exactly one caller across all nodes once
        an open circuit's cooldown is over (or a previous probe's ``probe_until`` has passed)."""
        ...


class SqlUpstreamState:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._max = "GREATEST" if db.dialect == "postgresql" else "MAX"

    async def _ensure(self, tx: Tx, model: str, now: float) -> None:
        await tx.execute(
            "INSERT INTO upstream_state (model, updated_at) VALUES (:m, :now) ON CONFLICT (model) DO NOTHING",
            {"m": model, "now": now},
        )

    async def gate(self, model: str) -> Gate:
        async with self._db.read() as tx:
            row = await tx.fetchone(f"SELECT {_COLUMNS} FROM upstream_state WHERE model = :m", {"m": model})
        return _gate(row)

    async def pause(self, model: str, until: float, now: float) -> Gate:
        async with self._db.transaction() as tx:
            await self._ensure(tx, model, now)
            row = await tx.fetchone(
                f"UPDATE upstream_state SET paused_until = {self._max}(paused_until, :until), "
                f"updated_at = :now WHERE model = :m RETURNING {_COLUMNS}",
                {"m": model, "until": until, "now": now},
            )
        return _gate(row)

    async def record_failure(self, model: str, now: float, threshold: int, cooldown: float) -> Gate:
        # SET expressions all read the row as it was: ``opens`` is decided on the old state.
        opens = "(state = 'half_open' OR (state = 'closed' AND failures + 1 >= :k))"
        async with self._db.transaction() as tx:
            await self._ensure(tx, model, now)
            row = await tx.fetchone(
                "UPDATE upstream_state SET failures = failures + 1, "
                f"state = CASE WHEN {opens} THEN 'open' ELSE state END, "
                f"paused_until = CASE WHEN {opens} THEN {self._max}(paused_until, :until) "
                "ELSE paused_until END, "
                f"probe_owner = CASE WHEN {opens} THEN NULL ELSE probe_owner END, "
                f"probe_until = CASE WHEN {opens} THEN 0 ELSE probe_until END, "
                f"updated_at = :now WHERE model = :m RETURNING {_COLUMNS}",
                {"m": model, "k": threshold, "until": now + cooldown, "now": now},
            )
        return _gate(row)

    async def record_success(self, model: str, now: float) -> Gate | None:
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE upstream_state SET state = 'closed', failures = 0, probe_owner = NULL, "
                "probe_until = 0, updated_at = :now "
                f"WHERE model = :m AND (state <> 'closed' OR failures <> 0) RETURNING {_COLUMNS}",
                {"m": model, "now": now},
            )
        return None if row is None else _gate(row)

    async def try_probe(self, model: str, owner: str, now: float, probe_seconds: float) -> bool:
        # A concurrent claimer blocks on the row and then re-checks the WHERE (PostgreSQL) or waits
        # for the write lock (SQLite): it finds the row half-open and updates nothing.
        async with self._db.transaction() as tx:
            won = await tx.execute(
                "UPDATE upstream_state SET state = 'half_open', probe_owner = :o, probe_until = :until, "
                "updated_at = :now WHERE model = :m AND ("
                "(state = 'open' AND paused_until <= :now) OR (state = 'half_open' AND probe_until <= :now))",
                {"m": model, "o": owner, "until": now + probe_seconds, "now": now},
            )
        return won == 1
