"""The judge cache's rows: a deterministic request's key → the chat.completion body it got (the keys
and the bodies' shape are ``service.cache``'s). The first answer stored for a key stays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from jurist.store.database import Database

_IN_LIST = 500  # keys per lookup statement


class CacheStore(Protocol):
    async def cache_get(self, key: str) -> str | None: ...

    async def cache_get_many(self, keys: Sequence[str]) -> dict[str, str]:
        """The stored bodies of those keys that have one."""
        ...

    async def cache_put(self, key: str, model: str, response: str, now: int) -> None:
        """Store a body, unless the key already has one."""
        ...


class SqlCacheStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def cache_get(self, key: str) -> str | None:
        async with self._db.read() as tx:
            row = await tx.fetchone("SELECT response FROM judge_cache WHERE key = :k", {"k": key})
        return str(row["response"]) if row else None

    async def cache_get_many(self, keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        async with self._db.read() as tx:
            for start in range(0, len(keys), _IN_LIST):
                chunk = keys[start : start + _IN_LIST]
                marks = ", ".join(f":k{i}" for i in range(len(chunk)))
                rows = await tx.fetchall(
                    f"SELECT key, response FROM judge_cache WHERE key IN ({marks})",
                    {f"k{i}": k for i, k in enumerate(chunk)},
                )
                found.update({r["key"]: str(r["response"]) for r in rows})
        return found

    async def cache_put(self, key: str, model: str, response: str, now: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO judge_cache (key, model, response, created_at) VALUES (:k, :m, :r, :t) "
                "ON CONFLICT (key) DO NOTHING",
                {"k": key, "m": model, "r": response, "t": now},
            )
