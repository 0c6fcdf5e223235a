"""Usage per tenant, day (UTC, ``YYYY-MM-DD``) and model: the ``usage_daily`` table.

Writes are additive upserts (a row's counters grow by what is added), so any number of API servers
and workers add to the same rows without reading them first. Reads sum rows over a range of days,
grouped by any of tenant, day and model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from jurist.protocol.chat import ChatCompletion
from jurist.store.database import Database, Row

GroupBy = Literal["tenant", "day", "model"]
GROUPS: tuple[GroupBy, ...] = ("tenant", "day", "model")
_COUNTERS = ("requests", "judge_calls", "prompt_tokens", "completion_tokens", "cache_hits", "batch_lines")


@dataclass(frozen=True)
class UsageCounts:
    """What requests and batch lines used. ``judge_calls`` are the calls made to the judge model
    (0 for an answer from the judge cache); ``cost`` is in the currency of the models' prices."""

    requests: int = 0
    judge_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    batch_lines: int = 0
    cost: float = 0.0

    def __add__(self, other: UsageCounts) -> UsageCounts:
        return UsageCounts(
            self.requests + other.requests,
            self.judge_calls + other.judge_calls,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cache_hits + other.cache_hits,
            self.batch_lines + other.batch_lines,
            self.cost + other.cost,
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def judge_calls(completion: ChatCompletion) -> int:
    """The calls a completion that was not a cache hit made: a judgment's ``attempts`` (every game of a
    swap or ensemble and every re-ask), one for a custom template."""
    return completion.judgment.attempts if completion.judgment is not None else 1


def completion_usage(completion: ChatCompletion, *, requests: int = 0, batch_lines: int = 0) -> UsageCounts:
    """What one completion used: its judge calls (a judgment's ``attempts``: every game of a swap or
    ensemble and every re-ask; one call for a custom template) and their tokens; an answer from the
    judge cache used none of them (a cache hit)."""
    if completion.cache_status == "hit":
        return UsageCounts(requests, cache_hits=1, batch_lines=batch_lines)
    calls = judge_calls(completion)
    usage = completion.usage
    return UsageCounts(requests, calls, usage.prompt_tokens, usage.completion_tokens, 0, batch_lines)


@dataclass(frozen=True)
class UsageRow:
    """Counts of one group: the grouped-by keys are set, the others None."""

    counts: UsageCounts
    tenant: str | None = None
    day: str | None = None
    model: str | None = None


class UsageStore(Protocol):
    async def add(self, rows: Sequence[UsageRow]) -> None:
        """Add each row's counts to its (tenant, day, model) row (all three set)."""
        ...

    async def query(
        self, start: str, end: str, group_by: Sequence[GroupBy] = (), tenant: str | None = None
    ) -> list[UsageRow]:
        """Sums over the days ``start``..``end`` (inclusive), one row per group (no group: one row of
        totals, or none when nothing was used). ``tenant``: an account (no ``/``) and its
        sub-tenants (``account/…``), or one sub-tenant (``account/name``) exactly; None: every tenant."""
        ...

    async def known(self, tenant: str) -> bool:
        """Whether the tenant (or, for an account, a sub-tenant) has any usage, key or tenant settings."""
        ...


_ADD = (
    "INSERT INTO usage_daily (tenant, day, model, " + ", ".join(_COUNTERS) + ", cost) VALUES "
    "(:tenant, :day, :model, " + ", ".join(f":{c}" for c in _COUNTERS) + ", :cost) "
    "ON CONFLICT (tenant, day, model) DO UPDATE SET "
    + ", ".join(f"{c} = usage_daily.{c} + excluded.{c}" for c in (*_COUNTERS, "cost"))
)
_SUMS = ", ".join(f"SUM({c}) AS {c}" for c in (*_COUNTERS, "cost"))
# A sub-tenant's id is ``account/name`` (an account's name holds no ``/``; a sub-tenant's name may). An
# account is itself and its sub-tenants, matched by prefix with substr, not LIKE (SQLite's LIKE ignores
# case, and the id may hold ``%`` or ``_``); a sub-tenant is itself only (``a/x`` is not ``a/x/y``).
_ACCOUNT = "(tenant = :tenant OR substr(tenant, 1, :prefix_len) = :prefix)"
_SUB_TENANT = "tenant = :tenant"


def _counts(row: Row) -> UsageCounts:
    # PostgreSQL sums BIGINT as NUMERIC (Decimal): back to int
    n = [int(row[c] or 0) for c in _COUNTERS]
    return UsageCounts(n[0], n[1], n[2], n[3], n[4], n[5], float(row["cost"] or 0.0))


class SqlUsageStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, rows: Sequence[UsageRow]) -> None:
        params = [_params(row) for row in rows]
        if not params:
            return
        async with self._db.transaction() as tx:
            await tx.executemany(_ADD, params)

    async def query(
        self, start: str, end: str, group_by: Sequence[GroupBy] = (), tenant: str | None = None
    ) -> list[UsageRow]:
        keys = [g for g in GROUPS if g in group_by]
        for g in group_by:
            if g not in GROUPS:
                raise ValueError(f"unknown usage grouping {g!r}")
        where = "day >= :start AND day <= :end"
        params: dict[str, object] = {"start": start, "end": end}
        if tenant is not None:
            match, found = _tenant_match(tenant)
            where += " AND " + match
            params.update(found)
        head = "".join(f"{k}, " for k in keys)
        sql = f"SELECT {head}{_SUMS} FROM usage_daily WHERE {where}"
        if keys:
            listed = ", ".join(keys)
            sql += f" GROUP BY {listed} ORDER BY {listed}"
        async with self._db.read() as tx:
            rows = await tx.fetchall(sql, params)
        return [
            UsageRow(_counts(r), r.get("tenant"), r.get("day"), r.get("model"))
            for r in rows
            if keys or r["requests"] is not None
        ]

    async def known(self, tenant: str) -> bool:
        match, params = _tenant_match(tenant)
        sql = (
            f"SELECT 1 AS one FROM usage_daily WHERE {match} "
            "UNION ALL SELECT 1 AS one FROM tenants WHERE id = :tenant "
            "UNION ALL SELECT 1 AS one FROM api_keys WHERE tenant = :tenant"
        )
        async with self._db.transaction() as tx:
            return await tx.fetchone(sql + " LIMIT 1", params) is not None


def _tenant_match(tenant: str) -> tuple[str, dict[str, object]]:
    """The condition on ``usage_daily.tenant`` that selects ``tenant``'s rows, and its parameters."""
    if "/" in tenant:
        return _SUB_TENANT, {"tenant": tenant}
    return _ACCOUNT, {"tenant": tenant, "prefix": tenant + "/", "prefix_len": len(tenant) + 1}


def _params(row: UsageRow) -> dict[str, object]:
    if row.tenant is None or row.day is None or row.model is None:
        raise ValueError("a usage row to add needs its tenant, day and model")
    c = row.counts
    out: dict[str, object] = {"tenant": row.tenant, "day": row.day, "model": row.model, "cost": c.cost}
    out.update({name: getattr(c, name) for name in _COUNTERS})
    return out


def merged(rows: Iterable[UsageRow]) -> UsageCounts:
    """The totals of some rows."""
    total = UsageCounts()
    for row in rows:
        total += row.counts
    return total
