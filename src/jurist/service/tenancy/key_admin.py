"""What the admin does with keys and tenants (``/v1/admin/keys``, ``/v1/admin/tenants``, and
``jurist keys``): create a key for a tenant (the secret returned once, only its digest stored), list,
read and revoke keys, and read and change tenants' limits and weights."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from jurist.errors import InvalidRequest, NotFound
from jurist.ids import Clock
from jurist.protocol.admin import (
    ApiKeyDeleted,
    ApiKeyList,
    ApiKeyObject,
    CreatedApiKey,
    KeyCreate,
    Limits,
    TenantList,
    TenantObject,
    TenantUpdate,
)
from jurist.service.validation import first_error
from jurist.store.keys import ApiKey, KeyStore, digest, generate_key
from jurist.store.tenants import LIMITS, TenantPolicy, TenantRecord, TenantStore

_Model = TypeVar("_Model", bound=BaseModel)


def parse(model: type[_Model], body: Any) -> _Model:
    """``body`` (a parsed JSON object) as ``model``; ``InvalidRequest`` naming the field otherwise."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        message, param = first_error(exc)
        raise InvalidRequest(message, param=param) from exc


def _changed(policy: TenantPolicy, limits: Limits | None, weight: float | None) -> TenantPolicy:
    """``policy`` with the limits given in ``limits`` (a ``null`` one back to the default) and
    ``weight`` when given."""
    changes: dict[str, Any] = {}
    if limits is not None:
        changes.update({name: getattr(limits, name) for name in limits.model_fields_set})
    if weight is not None:
        changes["weight"] = weight
    return replace(policy, **changes) if changes else policy


def _limits(policy: TenantPolicy) -> Limits:
    return Limits.model_construct(**{name: getattr(policy, name) for name in LIMITS})


def tenant_object(record: TenantRecord) -> TenantObject:
    return TenantObject(
        id=record.id,
        weight=record.policy.weight,
        limits=_limits(record.policy),
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


class KeyAdmin:
    """``on_change`` is called after a key is revoked or a tenant changes (this node's key cache)."""

    def __init__(
        self,
        keys: KeyStore,
        tenants: TenantStore,
        clock: Clock,
        default_weight: float = 1.0,
        on_change: Callable[[], None] | None = None,
        reweigh: Callable[[str, float], Awaitable[None]] | None = None,
    ) -> None:
        self._keys = keys
        self._tenants = tenants
        self._clock = clock
        self._default_weight = default_weight
        self._on_change = on_change or (lambda: None)
        self._reweigh = reweigh  # re-spaces the lines an account has queued after its weight changed

    def _now(self) -> int:
        return int(self._clock.now())

    def _fields(self, key: ApiKey, tenant: TenantRecord | None) -> dict[str, Any]:
        policy = tenant.policy if tenant else TenantPolicy(weight=self._default_weight)
        return {
            "id": key.id, "name": key.name, "tenant": key.tenant, "created_at": key.created_at,
            "last_used_at": key.last_used_at, "revoked_at": key.revoked_at, "weight": policy.weight,
            "limits": _limits(policy),
        }  # fmt: skip

    def _object(self, key: ApiKey, tenant: TenantRecord | None) -> ApiKeyObject:
        return ApiKeyObject(**self._fields(key, tenant))

    async def create_key(self, request: KeyCreate) -> CreatedApiKey:
        """A new key for ``request.tenant``: the tenant is created if new; the limits and weight
        given are set on it."""
        now = self._now()
        existing = await self._tenants.get(request.tenant)
        tenant = existing
        if existing is None or request.limits is not None or request.weight is not None:
            base = existing.policy if existing else TenantPolicy(weight=self._default_weight)
            policy = _changed(base, request.limits, request.weight)
            tenant = await self._tenants.upsert(request.tenant, policy, now)
            self._on_change()
            if existing is not None and policy.weight != existing.policy.weight:
                await self._weighed(request.tenant)
        secret = generate_key()
        key = await self._keys.create(request.name, request.tenant, digest(secret), now)
        return CreatedApiKey(**self._fields(key, tenant), key=secret)

    async def list_keys(self, tenant: str | None = None) -> ApiKeyList:
        """Every key (or a tenant's: ``NotFound`` for an unknown tenant), revoked ones too."""
        if tenant is not None and not await self._tenants.exists(tenant):
            raise NotFound(f"No tenant named '{tenant}'.", param="tenant")
        tenants = {t.id: t for t in await self._tenants.list()}
        keys = await self._keys.list(tenant)
        return ApiKeyList(data=[self._object(k, tenants.get(k.tenant)) for k in keys])

    async def get_key(self, key_id: str) -> ApiKeyObject:
        key = await self._keys.get(key_id)
        if key is None:
            raise NotFound(f"No API key with id '{key_id}'.", param="id")
        return self._object(key, await self._tenants.get(key.tenant))

    async def revoke_key(self, key_id: str) -> ApiKeyDeleted:
        """Revoke the key: this node refuses it at once, every other within ``key_cache_seconds``."""
        key = await self._keys.revoke(key_id, self._now())
        self._on_change()
        return ApiKeyDeleted(id=key.id)

    async def list_tenants(self) -> TenantList:
        return TenantList(data=[tenant_object(t) for t in await self._tenants.list()])

    async def get_tenant(self, tenant: str) -> TenantObject:
        return tenant_object(await self._tenant(tenant))

    async def update_tenant(self, tenant: str, request: TenantUpdate) -> TenantObject:
        """Change the limits and weight given of an existing tenant (``NotFound`` otherwise)."""
        record = await self._tenant(tenant)
        policy = _changed(record.policy, request.limits, request.weight)
        updated = await self._tenants.upsert(tenant, policy, self._now())
        self._on_change()
        if policy.weight != record.policy.weight:
            await self._weighed(tenant)
        return tenant_object(updated)

    async def _weighed(self, tenant: str) -> None:
        if self._reweigh is not None:
            await self._reweigh(tenant, self._clock.now())

    async def _tenant(self, tenant: str) -> TenantRecord:
        record = await self._tenants.get(tenant)
        if record is None:
            raise NotFound(f"No tenant named '{tenant}'.", param="tenant")
        return record
