"""Usage per tenant, day and model: additive upserts and grouped sums, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from jurist.composition import Stores
from jurist.store.database import Database
from jurist.store.usage import UsageCounts, UsageRow


def row(tenant: str, day: str, model: str, **counts: float) -> UsageRow:
    return UsageRow(UsageCounts(**counts), tenant, day, model)  # type: ignore[arg-type]


async def test_adds_are_additive_upserts(stores: Stores) -> None:
    usage = stores.usage
    first = UsageCounts(1, 2, 100, 20, 0, 0, 0.25)
    await usage.add([UsageRow(first, "t1", "2024-05-01", "m"), row("t1", "2024-05-01", "n", requests=1)])
    await usage.add([UsageRow(first, "t1", "2024-05-01", "m"), row("t1", "2024-05-01", "m", cache_hits=3)])
    await usage.add([])
    by_model = await usage.query("2024-05-01", "2024-05-01", ["model"])
    assert [(r.model, r.tenant, r.day) for r in by_model] == [("m", None, None), ("n", None, None)]
    assert by_model[0].counts == UsageCounts(2, 4, 200, 40, 3, 0, 0.5)
    assert by_model[0].counts.total_tokens == 240
    assert by_model[1].counts == UsageCounts(requests=1)
    (total,) = await usage.query("2024-05-01", "2024-05-01")
    assert total.counts == UsageCounts(3, 4, 200, 40, 3, 0, 0.5)


async def test_concurrent_adds_lose_nothing(stores: Stores) -> None:
    one = [row("t", "2024-05-01", "m", requests=1, prompt_tokens=7, cost=0.5)]
    await asyncio.gather(*(stores.usage.add(one) for _ in range(20)))
    (total,) = await stores.usage.query("2024-05-01", "2024-05-01", ["tenant", "day", "model"])
    assert (total.tenant, total.day, total.model) == ("t", "2024-05-01", "m")
    assert total.counts == UsageCounts(requests=20, prompt_tokens=140, cost=10.0)


async def test_days_are_an_inclusive_range_grouped_as_asked(stores: Stores) -> None:
    await stores.usage.add(
        [
            row("a", "2024-04-30", "m", requests=1),
            row("a", "2024-05-01", "m", requests=2),
            row("b", "2024-05-01", "n", requests=4, batch_lines=4),
            row("a", "2024-05-02", "n", requests=8),
            row("a", "2024-05-03", "m", requests=16),
        ]
    )
    by_day = await stores.usage.query("2024-05-01", "2024-05-02", ["day"])
    assert [(r.day, r.counts.requests) for r in by_day] == [("2024-05-01", 6), ("2024-05-02", 8)]
    by_tenant_model = await stores.usage.query("2024-04-30", "2024-05-03", ["model", "tenant"])
    assert [(r.tenant, r.model, r.counts.requests) for r in by_tenant_model] == [
        ("a", "m", 19),
        ("a", "n", 8),
        ("b", "n", 4),
    ]
    assert await stores.usage.query("2024-06-01", "2024-06-30") == []
    assert await stores.usage.query("2024-06-01", "2024-06-30", ["model"]) == []
    with pytest.raises(ValueError, match="grouping"):
        await stores.usage.query("2024-05-01", "2024-05-01", ["week"])  # type: ignore[list-item]


async def test_a_tenant_is_itself_and_its_sub_tenants_only(stores: Stores) -> None:
    day = "2024-05-01"
    await stores.usage.add(
        [
            row("acct", day, "m", requests=1),
            row("acct/team-1", day, "m", requests=2),
            row("acct/team-2", day, "m", requests=4),
            row("acct2", day, "m", requests=8),  # shares a prefix, but not an account's
            row("ACCT/x", day, "m", requests=16),  # another case is another tenant
            row("a%", day, "m", requests=32),  # LIKE's wildcards are plain characters here
            row("a_ct/y", day, "m", requests=64),
        ]
    )

    async def requests(tenant: str) -> dict[str, int]:
        rows = await stores.usage.query(day, day, ["tenant"], tenant)
        return {r.tenant or "": r.counts.requests for r in rows}

    assert await requests("acct") == {"acct": 1, "acct/team-1": 2, "acct/team-2": 4}
    assert await requests("acct/team-1") == {"acct/team-1": 2}
    assert await requests("a%") == {"a%": 32}
    assert await requests("a_ct") == {"a_ct/y": 64}
    assert await requests("nobody") == {}
    assert await stores.usage.known("acct") and await stores.usage.known("a_ct")
    assert not await stores.usage.known("nobody") and not await stores.usage.known("acc")


async def test_a_tenant_with_a_key_or_settings_is_known_before_any_usage(
    stores: Stores, database: Database
) -> None:
    async with database.transaction() as tx:
        await tx.execute(
            "INSERT INTO api_keys (id, digest, name, tenant, created_at) VALUES ('k1', 'd1', 'n', 'keyed', 0)"
        )
        await tx.execute("INSERT INTO tenants (id, created_at, updated_at) VALUES ('configured', 0, 0)")
    assert await stores.usage.known("keyed") and await stores.usage.known("configured")
    assert not await stores.usage.known("other")


async def test_a_row_to_add_needs_its_keys(stores: Stores) -> None:
    with pytest.raises(ValueError, match="tenant, day and model"):
        await stores.usage.add([UsageRow(UsageCounts(requests=1), "t", None, "m")])
