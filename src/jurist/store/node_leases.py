"""Named leases for jobs one node at a time should run (the sweep): a row per name in ``node_leases``,
taken by one conditional upsert, so two nodes racing for it cannot both win (PostgreSQL re-checks the
condition on the row the other committed; SQLite has one writer at a time)."""

from __future__ import annotations

from typing import Protocol

from jurist.store.database import Database


class NodeLeases(Protocol):
    async def take(self, name: str, owner: str, now: float, until: float) -> bool:
        """Hold ``name`` until ``until`` when it is free, expired (before ``now``) or already
        ``owner``'s; False when another owner holds it."""
        ...

    async def release(self, name: str, owner: str) -> bool:
        """Give ``name`` up at once (only its holder can); another node may take it next."""
        ...

    async def holder(self, name: str, now: float) -> str | None:
        """Who holds ``name`` at ``now``, if anyone."""
        ...


class SqlNodeLeases:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def take(self, name: str, owner: str, now: float, until: float) -> bool:
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO node_leases (name, owner, until) VALUES (:n, :o, :u) "
                "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until "
                "WHERE node_leases.until < :now OR node_leases.owner = excluded.owner "
                "OR node_leases.owner IS NULL RETURNING owner",
                {"n": name, "o": owner, "u": until, "now": now},
            )
        return row is not None

    async def release(self, name: str, owner: str) -> bool:
        async with self._db.transaction() as tx:
            n = await tx.execute(
                "UPDATE node_leases SET owner = NULL, until = 0 WHERE name = :n AND owner = :o",
                {"n": name, "o": owner},
            )
        return n == 1

    async def holder(self, name: str, now: float) -> str | None:
        async with self._db.read() as tx:
            row = await tx.fetchone(
                "SELECT owner FROM node_leases WHERE name = :n AND until >= :now", {"n": name, "now": now}
            )
        return str(row["owner"]) if row and row["owner"] is not None else None
