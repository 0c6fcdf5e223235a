"""API keys and tenants in the database: on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from jurist.composition import Stores
from jurist.errors import Conflict, NotFound
from jurist.store.keys import digest, key_id
from jurist.store.tenants import TenantPolicy, effective
from tests.support.store_records import NOW


async def test_keys_are_found_by_digest_until_revoked(stores: Stores) -> None:
    keys = stores.keys
    d1, d2, d3 = digest("sk-1"), digest("sk-2"), digest("sk-3")
    k1 = await keys.create("ci", "acme", d1, NOW)
    assert k1.id == "key_" + d1[:16] == key_id(d1)
    assert (k1.tenant, k1.name, k1.created_at, k1.last_used_at, k1.revoked_at) == (
        "acme",
        "ci",
        NOW,
        None,
        None,
    )
    await keys.create("laptop", "acme", d2, NOW + 1)
    await keys.create("ci", "globex", d3, NOW + 2)
    assert await keys.find(d1) == k1
    assert await keys.get(k1.id) == k1
    assert await keys.find(digest("sk-unknown")) is None and await keys.get("key_unknown") is None
    assert [k.id for k in await keys.list()] == [key_id(d1), key_id(d2), key_id(d3)]
    assert [k.id for k in await keys.list("acme")] == [key_id(d1), key_id(d2)]
    assert await keys.list("nobody") == []

    revoked = await keys.revoke(k1.id, NOW + 10)
    assert revoked.revoked_at == NOW + 10 and revoked.digest == d1
    assert await keys.find(d1) is None  # a revoked key is not found
    found = await keys.find(d1, revoked=True)
    assert found is not None and found.revoked_at == NOW + 10  # …unless asked for
    assert (await keys.revoke(k1.id, NOW + 20)).revoked_at == NOW + 10  # revoked once: the first time stays
    listed = {k.id: k.revoked_at for k in await keys.list("acme")}
    assert listed == {key_id(d1): NOW + 10, key_id(d2): None}  # listed with its revoked_at
    assert await keys.find(d2) is not None  # the tenant's other key is untouched
    with pytest.raises(NotFound) as info:
        await keys.revoke("key_0000000000000000", NOW)
    assert info.value.status_code == 404


async def test_a_digest_is_unique(stores: Stores) -> None:
    await stores.keys.create("a", "acme", digest("sk-1"), NOW)
    with pytest.raises(Conflict):
        await stores.keys.create("b", "globex", digest("sk-1"), NOW)
    assert [k.tenant for k in await stores.keys.list()] == ["acme"]


async def test_last_use_is_written_at_most_once_a_period(stores: Stores) -> None:
    keys = stores.keys
    k = await keys.create("ci", "acme", digest("sk-1"), NOW)
    await keys.touch(k.id, NOW + 5)
    assert (await keys.get(k.id)).last_used_at == NOW + 5  # type: ignore[union-attr]
    await keys.touch(k.id, NOW + 30)  # within the minute: unchanged
    assert (await keys.get(k.id)).last_used_at == NOW + 5  # type: ignore[union-attr]
    await keys.touch(k.id, NOW + 65)
    assert (await keys.get(k.id)).last_used_at == NOW + 65  # type: ignore[union-attr]
    await keys.touch(k.id, NOW + 70, every=1)
    assert (await keys.get(k.id)).last_used_at == NOW + 70  # type: ignore[union-attr]


async def test_tenants_upsert_get_list_exist(stores: Stores) -> None:
    tenants = stores.tenants
    assert await tenants.get("acme") is None and not await tenants.exists("acme")
    policy = TenantPolicy(weight=2.5, rpm=60, quota_bytes=5 * 2**40)
    created = await tenants.upsert("acme", policy, NOW)
    assert (created.id, created.policy, created.created_at, created.updated_at) == ("acme", policy, NOW, NOW)
    assert await tenants.get("acme") == created and await tenants.exists("acme")
    await tenants.upsert("globex", TenantPolicy(), NOW + 1)
    replaced = await tenants.upsert("acme", TenantPolicy(weight=1.0, tpm=1000, max_batches=2), NOW + 5)
    assert replaced.policy == TenantPolicy(weight=1.0, tpm=1000, max_batches=2)  # the whole policy
    assert (replaced.created_at, replaced.updated_at) == (NOW, NOW + 5)
    assert [t.id for t in await tenants.list()] == ["acme", "globex"]
    assert isinstance((await tenants.get("globex")).policy.weight, float)  # type: ignore[union-attr]


def test_a_tenants_own_limits_win_over_the_defaults() -> None:
    defaults = TenantPolicy(weight=3.0, rpm=100, tpm=None, max_batches=4, quota_bytes=10)
    own = TenantPolicy(weight=0.5, rpm=7, max_queued_lines=9)
    assert effective(own, defaults) == TenantPolicy(0.5, 7, None, 4, 9, 10)
    assert effective(None, defaults) == defaults
