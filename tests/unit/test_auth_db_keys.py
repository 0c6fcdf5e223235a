"""The authenticator over the database's keys (real SQLite): the TTL cache with its negative answers,
revocation, one lookup for many waiting requests, last use written once a minute, the admin key never
a tenant, and the static keys compared in constant time without any I/O."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jurist.errors import AuthenticationFailed, PermissionDenied, StoreError
from jurist.service.tenancy.auth import Authenticator, Tenant
from jurist.store.database import SqliteDatabase
from jurist.store.keys import ApiKey, SqlKeyStore, digest
from jurist.store.migrations import upgrade
from jurist.store.tenants import SqlTenantStore, TenantPolicy

NOW = 1_800_000_000
DEFAULTS = TenantPolicy(weight=1.0, rpm=None, tpm=100, max_batches=3, quota_bytes=1000)


class CountingKeys(SqlKeyStore):
    """The real store, counting the lookups the authenticator makes."""

    finds = 0

    async def find(self, key_digest: str, *, revoked: bool = False) -> ApiKey | None:
        self.finds += 1
        return await super().find(key_digest, revoked=revoked)


@dataclass
class Clocks:
    mono: float = 100.0
    wall: float = NOW

    def now(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono


@dataclass
class Rig:
    keys: CountingKeys
    tenants: SqlTenantStore
    clocks: Clocks
    auth: Authenticator

    async def key(self, secret: str, tenant: str = "acme") -> ApiKey:
        return await self.keys.create("k", tenant, digest(secret), NOW)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    db = SqliteDatabase(tmp_path / "keys.db")
    await db.open()
    await upgrade(db)
    keys, tenants, clocks = CountingKeys(db), SqlTenantStore(db), Clocks()
    auth = Authenticator(
        [digest("sk-static")], keys, tenants, defaults=DEFAULTS, admin_key="sk-admin", cache_seconds=1.0,
        clock=clocks, monotonic=clocks.monotonic,
    )  # fmt: skip
    try:
        yield Rig(keys, tenants, clocks, auth)
    finally:
        await db.close()


async def test_a_database_key_acts_for_its_tenant_with_its_policy(rig: Rig) -> None:
    key = await rig.key("sk-db")
    await rig.tenants.upsert("acme", TenantPolicy(weight=2.0, rpm=5), NOW)
    tenant = await rig.auth.authenticate("Bearer sk-db", "team-1")
    assert tenant == Tenant("acme", "team-1", TenantPolicy(2.0, 5, 100, 3, None, 1000), key.id)
    assert tenant.id == "acme/team-1"
    static = await rig.auth.authenticate("Bearer sk-static")
    assert static.account == "key_" + digest("sk-static")[:16] and static.policy == DEFAULTS


async def test_a_valid_key_costs_one_lookup_per_ttl(rig: Rig) -> None:
    await rig.key("sk-db")
    for _ in range(20):
        await rig.auth.authenticate("Bearer sk-db")
    assert rig.keys.finds == 1
    rig.clocks.mono += 1.01
    await rig.auth.authenticate("Bearer sk-db")
    assert rig.keys.finds == 2


async def test_many_waiting_requests_share_one_lookup(rig: Rig) -> None:
    await rig.key("sk-db")
    tenants = await asyncio.gather(*(rig.auth.authenticate("Bearer sk-db") for _ in range(50)))
    assert {t.account for t in tenants} == {"acme"} and rig.keys.finds == 1


async def test_a_key_revoked_elsewhere_stops_within_the_ttl(rig: Rig) -> None:
    key = await rig.key("sk-db")
    await rig.auth.authenticate("Bearer sk-db")
    await rig.keys.revoke(key.id, NOW + 1)  # as another node's admin call would
    await rig.auth.authenticate("Bearer sk-db")  # cached: still accepted for under a second
    rig.clocks.mono += 1.01
    with pytest.raises(AuthenticationFailed) as info:
        await rig.auth.authenticate("Bearer sk-db")
    assert info.value.status_code == 401 and info.value.code == "invalid_api_key"
    assert "revoked" in info.value.message and "sk-db" not in info.value.message
    finds = rig.keys.finds
    with pytest.raises(AuthenticationFailed):
        await rig.auth.authenticate("Bearer sk-db")
    assert rig.keys.finds == finds  # the refusal is cached too


async def test_forget_makes_a_local_revocation_immediate(rig: Rig) -> None:
    key = await rig.key("sk-db")
    await rig.auth.authenticate("Bearer sk-db")
    await rig.keys.revoke(key.id, NOW + 1)
    rig.auth.forget()
    with pytest.raises(AuthenticationFailed, match="revoked"):
        await rig.auth.authenticate("Bearer sk-db")


async def test_unknown_keys_are_cached_as_unknown(rig: Rig) -> None:
    for _ in range(5):
        with pytest.raises(AuthenticationFailed, match="Incorrect API key"):
            await rig.auth.authenticate("Bearer sk-later")
    assert rig.keys.finds == 1
    await rig.key("sk-later")
    with pytest.raises(AuthenticationFailed):
        await rig.auth.authenticate("Bearer sk-later")  # the negative answer still holds…
    rig.clocks.mono += 1.01
    assert (await rig.auth.authenticate("Bearer sk-later")).account == "acme"  # …for one TTL only


async def test_last_use_is_written_once_a_minute(rig: Rig) -> None:
    key = await rig.key("sk-db")
    await rig.auth.authenticate("Bearer sk-db")
    assert (await rig.keys.get(key.id)).last_used_at == NOW  # type: ignore[union-attr]
    for step in range(1, 6):  # cache misses every 10 s for 50 s: no new write
        rig.clocks.mono += 10
        rig.clocks.wall = NOW + 10 * step
        await rig.auth.authenticate("Bearer sk-db")
    assert (await rig.keys.get(key.id)).last_used_at == NOW  # type: ignore[union-attr]
    rig.clocks.mono += 11
    rig.clocks.wall = NOW + 61
    await rig.auth.authenticate("Bearer sk-db")
    assert (await rig.keys.get(key.id)).last_used_at == NOW + 61  # type: ignore[union-attr]


async def test_the_admin_key_is_never_a_tenant(rig: Rig) -> None:
    with pytest.raises(PermissionDenied) as info:
        await rig.auth.authenticate("Bearer sk-admin")
    assert info.value.status_code == 403 and "admin" in info.value.message
    assert rig.keys.finds == 0


async def test_static_keys_are_all_compared_and_need_no_lookup(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = Authenticator(
        [digest(f"sk-{i}") for i in range(8)], rig.keys, rig.tenants, admin_key="sk-admin",
    )  # fmt: skip
    compared: list[bytes] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(b)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    for i in (0, 7):  # the first key and the last: the same comparisons, no early exit
        compared.clear()
        await auth.authenticate(f"Bearer sk-{i}")
        assert len(compared) == 1 + 8  # the admin key's digest, then every static key's
    assert rig.keys.finds == 0  # a static key never reaches the database


async def test_a_database_failure_is_not_cached(rig: Rig, tmp_path: Path) -> None:
    broken_db = SqliteDatabase(tmp_path / "never-opened.db")
    auth = Authenticator([], SqlKeyStore(broken_db), SqlTenantStore(broken_db))
    with pytest.raises(StoreError):  # the connection was never opened: no answer at all
        await auth.authenticate("Bearer sk-x")
    await broken_db.open()
    await upgrade(broken_db)
    try:
        with pytest.raises(AuthenticationFailed):  # looked up again, not a cached failure
            await auth.authenticate("Bearer sk-x")
    finally:
        await broken_db.close()
