"""API keys at rest: only SHA-256 digests are stored.

Two homes: the key file ``<data_dir>/api_keys.json`` (mode 0600; the first-start key and
``jurist keys create`` without a tenant), and the ``api_keys`` table: the keys an admin creates for a
tenant (``POST /v1/admin/keys``, ``jurist keys create --tenant``), which every node sees at once."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from jurist.errors import NotFound
from jurist.store.database import Database, Row


@dataclass(frozen=True)
class KeyRecord:
    digest: str
    created_at: int
    label: str = ""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_key() -> str:
    return "sk-jurist-" + secrets.token_urlsafe(32)


def key_id(key_digest: str) -> str:
    """A key's public id: ``key_`` and the first 16 hex digits of its digest (the account of a key
    from ``JURIST_API_KEYS`` or the key file is spelt the same way)."""
    return "key_" + key_digest[:16]


class KeyFile:
    """The keys a server accepts when ``JURIST_API_KEYS`` is not set."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "api_keys.json"

    def load(self) -> list[KeyRecord]:
        if not self.path.exists():
            return []
        data = json.loads(self.path.read_text("utf-8"))
        return [KeyRecord(**entry) for entry in data.get("keys", [])]

    def create(self, label: str = "") -> str:
        """Add a new random key, store its digest, and return the key itself (shown once)."""
        key = generate_key()
        records = [*self.load(), KeyRecord(digest(key), int(time.time()), label)]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"keys": [asdict(r) for r in records]}, fh, indent=2)
        tmp.replace(self.path)
        return key


@dataclass(frozen=True)
class ApiKey:
    """A key in the database: its digest (never the key), the tenant it acts for, and its history."""

    id: str
    digest: str
    name: str
    tenant: str
    created_at: int
    last_used_at: int | None = None
    revoked_at: int | None = None


class KeyStore(Protocol):
    async def create(self, name: str, tenant: str, key_digest: str, now: int) -> ApiKey:
        """Store a new key; ``Conflict`` when its digest (or id) is taken."""
        ...

    async def find(self, key_digest: str, *, revoked: bool = False) -> ApiKey | None:
        """The key with this digest, if it is not revoked (with ``revoked``: revoked ones too)."""
        ...

    async def get(self, key_id: str) -> ApiKey | None: ...

    async def list(self, tenant: str | None = None) -> list[ApiKey]:
        """Every key, or a tenant's, oldest first; revoked ones too (with their ``revoked_at``)."""
        ...

    async def revoke(self, key_id: str, now: int) -> ApiKey:
        """Revoke the key (a key revoked already keeps its first ``revoked_at``); ``NotFound`` for an
        unknown id."""
        ...

    async def touch(self, key_id: str, now: int, every: int = 60) -> None:
        """Record a use at ``now``, unless one was recorded less than ``every`` seconds before."""
        ...


_COLUMNS = ("id", "digest", "name", "tenant", "created_at", "last_used_at", "revoked_at")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM api_keys"


def _key(row: Row) -> ApiKey:
    return ApiKey(**{c: row[c] for c in _COLUMNS})


class SqlKeyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, name: str, tenant: str, key_digest: str, now: int) -> ApiKey:
        record = ApiKey(key_id(key_digest), key_digest, name, tenant, now)
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO api_keys (id, digest, name, tenant, created_at) "
                "VALUES (:id, :digest, :name, :tenant, :created_at)",
                {"id": record.id, "digest": key_digest, "name": name, "tenant": tenant, "created_at": now},
            )
        return record

    async def find(self, key_digest: str, *, revoked: bool = False) -> ApiKey | None:
        active = "" if revoked else " AND revoked_at IS NULL"
        async with self._db.read() as tx:
            row = await tx.fetchone(f"{_SELECT} WHERE digest = :d{active}", {"d": key_digest})
        return _key(row) if row else None

    async def get(self, key_id: str) -> ApiKey | None:
        async with self._db.read() as tx:
            row = await tx.fetchone(f"{_SELECT} WHERE id = :id", {"id": key_id})
        return _key(row) if row else None

    async def list(self, tenant: str | None = None) -> list[ApiKey]:
        where, params = ("", {}) if tenant is None else (" WHERE tenant = :t", {"t": tenant})
        async with self._db.read() as tx:
            rows = await tx.fetchall(f"{_SELECT}{where} ORDER BY created_at, id", params)
        return [_key(r) for r in rows]

    async def revoke(self, key_id: str, now: int) -> ApiKey:
        params: dict[str, Any] = {"id": key_id, "now": now}
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE api_keys SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL", params
            )
            row = await tx.fetchone(f"{_SELECT} WHERE id = :id", params)
        if row is None:
            raise NotFound(f"No API key with id '{key_id}'.", param="id")
        return _key(row)

    async def touch(self, key_id: str, now: int, every: int = 60) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE api_keys SET last_used_at = :now "
                "WHERE id = :id AND (last_used_at IS NULL OR last_used_at <= :since)",
                {"id": key_id, "now": now, "since": now - every},
            )
