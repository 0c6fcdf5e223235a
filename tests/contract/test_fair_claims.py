"""Fair claims (store.fair): tenants by weight, a tenant's batches in turn, re-spaced as batches start
and finish; exclusive under many concurrent claimers. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from jurist.composition import Stores
from jurist.store.database import Database
from jurist.store.records import ClaimedRequest, RequestLine
from tests.support.store_records import NOW, batch, result, started_batch


async def claim_one_by_one(stores: Stores, n: int, owner: str = "w") -> list[ClaimedRequest]:
    """``n`` claims of one line each: the queue's order, line by line."""
    claimed = []
    for _ in range(n):
        claimed += await stores.queue.claim(owner, "m", 1, NOW, 30)
    return claimed


async def set_weight(db: Database, account: str, weight: float) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO tenants (id, weight, created_at, updated_at) VALUES (:a, :w, 0, 0)",
            {"a": account, "w": weight},
        )


async def test_a_small_batch_is_claimed_in_turn_with_a_large_one(stores: Stores) -> None:
    big = await started_batch(stores, 1, "ta", 300, chunk=100)
    first = await claim_one_by_one(stores, 100)
    assert {c.batch_id for c in first} == {big}
    small = await started_batch(stores, 2, "tb", 5)
    order = [c.batch_id for c in await claim_one_by_one(stores, 10)]
    # the small batch joins at the queue's virtual time: from the next claim on, one line in two
    assert order == [big, small] * 5 or order == [small, big] * 5


async def test_a_tenants_batches_alternate_inside_its_share(stores: Stores) -> None:
    """Sub-tenants (``acct/x``) are their account's batches: acct and other share 1:1, and acct's two
    batches alternate inside acct's half."""
    a1 = await started_batch(stores, 1, "acct/x", 60, chunk=7)  # chunks: ranks carry on
    a2 = await started_batch(stores, 2, "acct/y", 60)
    b = await started_batch(stores, 3, "other", 60)
    claimed = await claim_one_by_one(stores, 40)
    assert Counter(c.batch_id for c in claimed) == {a1: 10, a2: 10, b: 20}
    order = [c.batch_id for c in claimed]
    assert order[:8] == [a1, a2, b, b, a1, a2, b, b]
    assert Counter(c.tenant for c in claimed) == {"acct/x": 10, "acct/y": 10, "other": 20}


async def test_weights_2_to_1_are_claimed_2_to_1(stores: Stores, database: Database) -> None:
    await set_weight(database, "heavy", 2)
    await started_batch(stores, 1, "light", 90)
    await started_batch(stores, 2, "heavy", 90)
    claimed = await stores.queue.claim("w", "m", 30, NOW, 30)
    assert Counter(c.tenant for c in claimed) == {"heavy": 20, "light": 10}


@pytest.mark.parametrize("leaves", ["completed", "cancelled"])
async def test_a_tenants_share_is_re_spaced_when_one_of_its_batches_leaves(
    stores: Stores, leaves: str
) -> None:
    a1 = await started_batch(stores, 1, "ta", 60)
    a2 = await started_batch(stores, 2, "ta", 3)
    b = await started_batch(stores, 3, "tb", 60)
    claimed = await claim_one_by_one(stores, 12)
    assert Counter(c.batch_id for c in claimed) == {a1: 3, a2: 3, b: 6}
    if leaves == "completed":  # its last line's result moves it to finalizing
        mine = [result(a2, c.line) for c in claimed if c.batch_id == a2]
        assert await stores.queue.record_results("w", mine, NOW) == 3
    else:
        assert await stores.batches.request_cancel("ta", a2, NOW) is not None
        task = await stores.tasks.claim("w0", NOW, 60)
        assert task is not None and task.id == a2
        assert await stores.tasks.settle_cancel(a2, NOW) == 3  # its three claimed lines still run
        assert await stores.tasks.finish(a2, "w0", None, None, NOW)
    # ta's one batch left now has all of ta's share: 1:1 with tb (it had a third, 1:2, before)
    after = await claim_one_by_one(stores, 20)
    assert Counter(c.batch_id for c in after) == {a1: 10, b: 10}


async def test_a_weight_change_applies_to_queued_lines_on_rebalance(
    stores: Stores, database: Database
) -> None:
    await started_batch(stores, 1, "ta", 100)
    await started_batch(stores, 2, "tb", 100)
    await set_weight(database, "ta", 3)
    await stores.fair.rebalance("ta", NOW)
    claimed = await stores.queue.claim("w", "m", 40, NOW, 30)
    assert Counter(c.tenant for c in claimed) == {"ta": 30, "tb": 10}


async def test_lines_of_a_validating_batch_wait_and_retried_lines_keep_their_turn(stores: Stores) -> None:
    a = await started_batch(stores, 1, "ta", 10)
    await stores.batches.insert(batch(2, "tb"))
    task = await stores.tasks.claim("w0", NOW, 60)
    assert task is not None
    await stores.tasks.add_lines(task.id, [RequestLine(k, f"c{k}", "m", "{}") for k in range(1, 11)])
    running = await stores.queue.claim("w", "m", 20, NOW, 30)
    assert {c.batch_id for c in running} == {a} and len(running) == 10  # parked lines are not claimed
    # nothing claimable: the new batch joins after the lines in service, so a retried one goes first
    assert await stores.tasks.start(task.id, "w0", 10, "m", NOW)
    assert await stores.queue.retry_later("w", a, running[0].line, NOW)
    again = await claim_one_by_one(stores, 2)
    assert [(c.batch_id, c.line) for c in again] == [(a, running[0].line), (task.id, 1)]


async def test_concurrent_claimers_and_batch_starts_never_share_a_line(stores: Stores) -> None:
    """Sixteen claimers while six batches of three tenants start (each start re-spaces its tenant's
    lines): every line is claimed exactly once, and nothing deadlocks."""
    ids = []
    for i in range(1, 7):
        await stores.batches.insert(batch(i, f"t{i % 3}"))
        task = await stores.tasks.claim(f"v{i}", NOW, 60)
        assert task is not None
        await stores.tasks.add_lines(task.id, [RequestLine(k, f"c{k}", "m", "{}") for k in range(1, 81)])
        ids.append((task.id, f"v{i}"))
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + 20

    async def claimer(n: int) -> None:
        while len(seen) < 6 * 80 and time.monotonic() < deadline:
            got = await stores.queue.claim(f"w{n}", "m", 5, NOW, 30)
            seen.extend((c.batch_id, c.line) for c in got)
            if not got:
                await asyncio.sleep(0.005)

    async def starter(batch_id: str, owner: str) -> None:
        await asyncio.sleep(0.01)
        assert await stores.tasks.start(batch_id, owner, 80, "m", NOW)

    await asyncio.gather(*(claimer(n) for n in range(16)), *(starter(b, o) for b, o in ids))
    assert len(seen) == len(set(seen)) == 6 * 80


async def test_an_admins_weight_change_re_spaces_the_tenants_queued_lines(stores: Stores) -> None:
    """The admin API's tenant update (service.key_admin) re-spaces what the tenant already queued."""
    from jurist.ids import SystemClock
    from jurist.protocol.admin import KeyCreate, TenantUpdate
    from jurist.service.tenancy.key_admin import KeyAdmin

    admin = KeyAdmin(stores.keys, stores.tenants, SystemClock(), reweigh=stores.fair.rebalance)
    await admin.create_key(KeyCreate(name="k", tenant="ta"))
    await started_batch(stores, 1, "ta", 100)
    await started_batch(stores, 2, "tb", 100)
    await admin.update_tenant("ta", TenantUpdate(weight=3.0))
    claimed = await stores.queue.claim("w", "m", 40, NOW, 30)
    assert Counter(c.tenant for c in claimed) == {"ta": 30, "tb": 10}
