"""What an account holds, for its limits, on SQLite and on PostgreSQL: its own objects and its
sub-tenants' (``account/sub``), never those of an account whose name merely starts the same way."""

from __future__ import annotations

import dataclasses

from jurist.composition import Stores
from jurist.protocol.batches import BatchStatus
from jurist.store.database import Database
from jurist.store.rate_limits import SqlRateBuckets
from jurist.store.tenant_load import SqlTenantLoad, account_of
from tests.support.store_records import NOW, batch, file

S = BatchStatus
# neighbours of "acme" in byte order, LIKE's wildcards, and names a locale's collation sorts elsewhere
STRANGERS = ("acme0", "acme-b", "acme.x", "acmeZ/x", "Acme", "ac", "acm%", "acme_", "acme0/x", "acm")


def test_the_account_is_the_part_before_the_slash() -> None:
    assert account_of("acme") == "acme"
    assert account_of("acme/team-a") == "acme"
    assert account_of("acme/team/a") == "acme"


async def test_an_account_counts_its_own_and_its_sub_tenants_objects(
    database: Database, stores: Stores
) -> None:
    load = SqlTenantLoad(database)
    rows = [  # (tenant, status, total, completed, failed)
        ("acme", S.VALIDATING, 0, 0, 0),
        ("acme", S.IN_PROGRESS, 10, 3, 2),  # 5 lines left
        ("acme/team-a", S.IN_PROGRESS, 7, 0, 0),
        ("acme/team-a/x", S.CANCELLING, 4, 0, 0),  # in progress, but its lines will not run
        ("acme/b", S.FINALIZING, 6, 6, 0),
        ("acme", S.COMPLETED, 9, 9, 0),
        ("acme/b", S.FAILED, 0, 0, 0),
        ("acme", S.CANCELLED, 5, 1, 0),
        ("acme", S.EXPIRED, 5, 1, 0),
    ] + [(name, S.IN_PROGRESS, 100, 0, 0) for name in STRANGERS]
    for i, (tenant, status, total, completed, failed) in enumerate(rows, start=1):
        record = dataclasses.replace(
            batch(i, tenant), status=status, total=total, completed=completed, failed=failed
        )
        await stores.batches.insert(record)
    sizes = {"acme": 100, "acme/team-a": 20, "acme/b/c": 3} | dict.fromkeys(STRANGERS, 1000)
    for i, (tenant, size) in enumerate(sizes.items(), start=1):
        await stores.files.insert(dataclasses.replace(file(i, tenant), bytes=size))

    assert await load.active_batches("acme") == 5
    assert await load.queued_lines("acme") == 12
    assert await load.stored_bytes("acme") == 123
    assert await load.active_batches("acme0") == 2  # itself and acme0/x
    assert await load.stored_bytes("acm%") == 1000
    assert await load.active_batches("nobody") == 0
    assert await load.queued_lines("nobody") == 0
    assert await load.stored_bytes("nobody") == 0


async def test_a_rate_bucket_is_exact_at_its_edge(database: Database, stores: Stores) -> None:
    """At epoch-sized times the last unit of a burst still fits, and the figures are whole."""
    buckets = SqlRateBuckets(database)
    now = float(NOW) + 0.123
    taken = [await buckets.take("b", 5, 1, now) for _ in range(6)]
    assert [a.allowed for a in taken] == [True] * 5 + [False]
    assert [a.remaining for a in taken] == [4, 3, 2, 1, 0, 0]
    assert taken[-1].retry_after == 12.0 or abs(taken[-1].retry_after - 12.0) < 1e-5
    charged = await buckets.charge("t", 1000, 15, now)
    assert charged.remaining == 985
    assert (await buckets.peek("t", 1000, now)).remaining == 985
