"""Rate-limit buckets shared by every node through the database: GCRA (the generic cell rate
algorithm, a token bucket kept as one number per bucket).

A bucket allows ``limit`` units per ``period`` seconds, in bursts of up to ``limit``. Its one row holds
the *theoretical arrival time* ``tat``: the moment the bucket would be full again. Taking ``cost``
units moves ``tat`` by ``cost × period / limit``; it is refused when that would put ``tat`` more than
one ``period`` ahead of now. The check-and-take is one conditional ``UPDATE``, so any number of API
servers and workers share a limit exactly, with no lock beyond the bucket's own row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from jurist.store.database import Database, Tx

# Times are epoch seconds in doubles, exact to about 0.24 µs today: a unit that fits exactly must not be
# refused (nor a header figure come out one short) for a rounding error, so comparisons allow 1 µs.
_SLACK = 1e-6


@dataclass(frozen=True)
class Allowance:
    """What a bucket answered: whether the units were taken, and OpenAI's ``x-ratelimit-*`` figures."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: float  # until the bucket is full again
    retry_after: float = 0.0  # when refused: until the units would fit


class RateBuckets(Protocol):
    async def take(self, name: str, limit: int, cost: float, now: float, period: float = 60.0) -> Allowance:
        """Take ``cost`` units if they fit; refused (nothing taken) otherwise."""
        ...

    async def peek(self, name: str, limit: int, now: float, period: float = 60.0) -> Allowance:
        """Whether any unit is left (``allowed``), taking none: the check before a call whose cost is
        known only after it (tokens)."""
        ...

    async def charge(self, name: str, limit: int, cost: float, now: float, period: float = 60.0) -> Allowance:
        """Take ``cost`` units whether or not they fit (a call already made): the bucket may go
        into debt, and refuses further units until it is paid back."""
        ...


def allowance(
    allowed: bool, tat: float, limit: int, now: float, period: float, cost: float = 1.0
) -> Allowance:
    """The figures of a bucket whose theoretical arrival time is ``tat``; when refused, the wait until
    ``cost`` units fit."""
    interval = period / limit
    ahead = max(0.0, tat - now)
    remaining = max(0, min(limit, math.floor((period - ahead + _SLACK) / interval)))
    retry = 0.0 if allowed else max(0.0, ahead - period + cost * interval)
    return Allowance(allowed, limit, remaining, ahead, retry)


class SqlRateBuckets:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._max = "GREATEST" if db.dialect == "postgresql" else "MAX"

    async def _ensure(self, tx: Tx, name: str) -> None:
        await tx.execute(
            "INSERT INTO rate_buckets (name, tat) VALUES (:n, 0) ON CONFLICT (name) DO NOTHING", {"n": name}
        )

    async def _tat(self, tx: Tx, name: str) -> float:
        row = await tx.fetchone("SELECT tat FROM rate_buckets WHERE name = :n", {"n": name})
        return float(row["tat"]) if row else 0.0

    async def take(self, name: str, limit: int, cost: float, now: float, period: float = 60.0) -> Allowance:
        inc = cost * period / limit
        async with self._db.transaction() as tx:
            await self._ensure(tx, name)
            row = await tx.fetchone(
                f"UPDATE rate_buckets SET tat = {self._max}(tat, :now) + :inc "
                f"WHERE name = :n AND {self._max}(tat, :now) + :inc - :now <= :period RETURNING tat",
                {"n": name, "now": now, "inc": inc, "period": period + _SLACK},
            )
            if row is not None:
                return allowance(True, float(row["tat"]), limit, now, period)
            tat = await self._tat(tx, name)
        return allowance(False, tat, limit, now, period, cost)

    async def peek(self, name: str, limit: int, now: float, period: float = 60.0) -> Allowance:
        async with self._db.transaction() as tx:
            tat = await self._tat(tx, name)
        interval = period / limit
        return allowance(tat - now + interval <= period + _SLACK, tat, limit, now, period)

    async def charge(self, name: str, limit: int, cost: float, now: float, period: float = 60.0) -> Allowance:
        inc = cost * period / limit
        async with self._db.transaction() as tx:
            await self._ensure(tx, name)
            row = await tx.fetchone(
                f"UPDATE rate_buckets SET tat = {self._max}(tat, :now) + :inc WHERE name = :n RETURNING tat",
                {"n": name, "now": now, "inc": inc},
            )
        tat = float(row["tat"]) if row else now + inc
        return allowance(True, tat, limit, now, period)
