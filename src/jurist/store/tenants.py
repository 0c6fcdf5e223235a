"""Tenants and their policy: the fair share of the batch runner and the limits a tenant is held to.

A tenant is the owner of keys (``api_keys.tenant``) and of every object they create; a caller may act
for a sub-tenant with ``X-On-Behalf-Of``, which shares its tenant's limits. ``None`` is no limit.

A tenant's row holds what an admin set: a limit left ``NULL`` there is the server's default
(``JURIST_DEFAULT_RPM`` …), merged in by ``effective``."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

from jurist.errors import StoreError
from jurist.store.database import Database, Row

LIMITS = ("rpm", "tpm", "max_batches", "max_queued_lines", "quota_bytes")


@dataclass(frozen=True)
class TenantPolicy:
    weight: float = 1.0
    rpm: int | None = None
    tpm: int | None = None
    max_batches: int | None = None
    max_queued_lines: int | None = None
    quota_bytes: int | None = None


def effective(own: TenantPolicy | None, defaults: TenantPolicy) -> TenantPolicy:
    """A tenant's own policy (as stored: ``None`` = the default) over the server's defaults."""
    if own is None:
        return defaults
    unset = {name: getattr(defaults, name) for name in LIMITS if getattr(own, name) is None}
    return replace(own, **unset)


@dataclass(frozen=True)
class TenantRecord:
    id: str
    policy: TenantPolicy  # as an admin set it: a limit left None is the server's default
    created_at: int
    updated_at: int


class TenantStore(Protocol):
    async def upsert(self, tenant: str, policy: TenantPolicy, now: int) -> TenantRecord:
        """Create the tenant, or replace its whole policy (its ``created_at`` stays)."""
        ...

    async def get(self, tenant: str) -> TenantRecord | None: ...

    async def list(self) -> list[TenantRecord]:
        """Every tenant, by id."""
        ...

    async def exists(self, tenant: str) -> bool: ...


_POLICY = tuple(f.name for f in fields(TenantPolicy))
_COLUMNS = ("id", *_POLICY, "created_at", "updated_at")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM tenants"
_UPSERT = (
    f"INSERT INTO tenants ({', '.join(_COLUMNS)}) VALUES ({', '.join(f':{c}' for c in _COLUMNS)}) "
    f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in (*_POLICY, 'updated_at'))} "
    f"RETURNING {', '.join(_COLUMNS)}"
)


def _tenant(row: Row) -> TenantRecord:
    policy = TenantPolicy(**{name: row[name] for name in _POLICY})
    policy = replace(policy, weight=float(policy.weight))
    return TenantRecord(row["id"], policy, row["created_at"], row["updated_at"])


class SqlTenantStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(self, tenant: str, policy: TenantPolicy, now: int) -> TenantRecord:
        params: dict[str, Any] = {name: getattr(policy, name) for name in _POLICY}
        params.update(id=tenant, created_at=now, updated_at=now)
        async with self._db.read() as tx:
            row = await tx.fetchone(_UPSERT, params)
        if row is None:
            raise StoreError(f"the tenant {tenant!r} was not written")
        return _tenant(row)

    async def get(self, tenant: str) -> TenantRecord | None:
        async with self._db.read() as tx:
            row = await tx.fetchone(f"{_SELECT} WHERE id = :id", {"id": tenant})
        return _tenant(row) if row else None

    async def list(self) -> list[TenantRecord]:
        async with self._db.read() as tx:
            rows = await tx.fetchall(f"{_SELECT} ORDER BY id")
        return [_tenant(r) for r in rows]

    async def exists(self, tenant: str) -> bool:
        async with self._db.read() as tx:
            row = await tx.fetchone("SELECT 1 AS one FROM tenants WHERE id = :id", {"id": tenant})
        return row is not None
