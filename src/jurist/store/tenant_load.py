"""What an account holds right now, for its limits: batches in progress, lines queued, bytes stored.

An account's objects are those it owns and those of its sub-tenants (``X-On-Behalf-Of``), whose owner
is ``account/sub``: both are read with one predicate, the account itself or a tenant in the range
``[account/, account0)`` ('0' follows '/'). The range is compared byte by byte (PostgreSQL: ``COLLATE
"C"``; a locale's collation would sort punctuation elsewhere), so it stays an index range.

Each count costs about the account's own rows: batches in progress through the status index, queued
lines from those batches' counters (not the line rows), bytes through ``files_by_account``."""

from __future__ import annotations

from typing import Any, Protocol, TypedDict

from jurist.protocol.batches import BatchStatus
from jurist.store.database import Database, Dialect

ACTIVE = (BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING, BatchStatus.CANCELLING)


def account_of(tenant: str) -> str:
    """The account that owns ``tenant`` (an account, or ``account/sub``): the part before the '/'."""
    return tenant.split("/", 1)[0]


def account_predicate(dialect: Dialect, column: str = "tenant") -> str:
    """SQL true for the rows of account ``:acct`` and of its sub-tenants (``:lo``/``:hi`` bound by
    ``account_params``)."""
    ranged = f'{column} COLLATE "C"' if dialect == "postgresql" else column
    return f"({column} = :acct OR ({ranged} >= :lo AND {ranged} < :hi))"


class AccountParams(TypedDict):
    """The bounds ``account_predicate`` reads: the account, and the range its sub-tenants' names fall in."""

    acct: str
    lo: str
    hi: str


def account_params(account: str) -> AccountParams:
    return {"acct": account, "lo": account + "/", "hi": account + "0"}


class TenantLoad(Protocol):
    async def active_batches(self, account: str) -> int:
        """The account's batches that are validating, in progress, finalizing or cancelling."""
        ...

    async def queued_lines(self, account: str) -> int:
        """Lines of the account's in-progress batches that have not finished (queued or running)."""
        ...

    async def stored_bytes(self, account: str) -> int:
        """What the account's files hold, in bytes."""
        ...


class SqlTenantLoad:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._account = account_predicate(db.dialect)

    async def _count(self, sql: str, account: str, **params: Any) -> int:
        async with self._db.read() as tx:
            row = await tx.fetchone(sql, {**account_params(account), **params})
        return int(row["n"] or 0) if row else 0

    async def active_batches(self, account: str) -> int:
        marks = ", ".join(f":s{i}" for i in range(len(ACTIVE)))
        return await self._count(
            f"SELECT COUNT(*) AS n FROM batches WHERE status IN ({marks}) AND {self._account}",
            account,
            **{f"s{i}": status.value for i, status in enumerate(ACTIVE)},
        )

    async def queued_lines(self, account: str) -> int:
        return await self._count(
            "SELECT COALESCE(SUM(total - completed - failed), 0) AS n FROM batches "
            f"WHERE status = :p AND {self._account}",
            account,
            p=BatchStatus.IN_PROGRESS.value,
        )

    async def stored_bytes(self, account: str) -> int:
        return await self._count(
            f"SELECT COALESCE(SUM(bytes), 0) AS n FROM files WHERE {self._account}", account
        )
