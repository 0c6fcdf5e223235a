"""Console sessions: who signed in to the web console, by the SHA-256 of the session token (the cookie
holds the token, the database only its digest). A session keeps the digest of the API key it was opened
with — never the key — so every page asks the authenticator again, and a revoked key ends its sessions.
Expired rows are deleted when met and by ``delete_expired``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from jurist.store.database import Database, Row


@dataclass(frozen=True)
class SessionRecord:
    id: str  # the token's digest
    key_digest: str
    on_behalf_of: str | None
    admin: bool  # opened with the admin key
    csrf: str  # the token every form and state-changing call must echo
    created_at: int
    expires_at: int


class SessionStore(Protocol):
    async def add(self, record: SessionRecord) -> None: ...

    async def get(self, session_id: str, now: int) -> SessionRecord | None:
        """The session, unless it has expired (then it is deleted)."""
        ...

    async def delete(self, session_id: str) -> bool: ...

    async def delete_expired(self, now: int) -> int: ...


def _from_row(row: Row) -> SessionRecord:
    return SessionRecord(
        row["id"], row["key_digest"], row["on_behalf_of"], bool(row["admin"]), row["csrf"],
        int(row["created_at"]), int(row["expires_at"]),
    )  # fmt: skip


class SqlSessionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, record: SessionRecord) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO console_sessions (id, key_digest, on_behalf_of, admin, csrf, created_at,"
                " expires_at) VALUES (:id, :k, :o, :a, :c, :at, :exp)",
                {
                    "id": record.id, "k": record.key_digest, "o": record.on_behalf_of,
                    "a": int(record.admin), "c": record.csrf, "at": record.created_at,
                    "exp": record.expires_at,
                },
            )  # fmt: skip

    async def get(self, session_id: str, now: int) -> SessionRecord | None:
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT * FROM console_sessions WHERE id = :id", {"id": session_id})
            if row is None:
                return None
            if int(row["expires_at"]) <= now:
                await tx.execute("DELETE FROM console_sessions WHERE id = :id", {"id": session_id})
                return None
        return _from_row(row)

    async def delete(self, session_id: str) -> bool:
        async with self._db.transaction() as tx:
            return await tx.execute("DELETE FROM console_sessions WHERE id = :id", {"id": session_id}) > 0

    async def delete_expired(self, now: int) -> int:
        async with self._db.transaction() as tx:
            return await tx.execute("DELETE FROM console_sessions WHERE expires_at <= :now", {"now": now})
