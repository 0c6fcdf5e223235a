"""The request-line queue: claims under leases, retries, results, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

from jurist.composition import Stores
from jurist.protocol.batches import BatchStatus
from tests.support.store_records import NOW, result, running_batch


async def test_claims_are_exclusive_and_results_need_the_lease(stores: Stores) -> None:
    queue = stores.queue
    batch_id = await running_batch(stores, 10)
    assert await queue.depth() == {"m": 10}
    a, b = await asyncio.gather(queue.claim("wa", "m", 6, NOW, 30), queue.claim("wb", "m", 6, NOW, 30))
    lines_a, lines_b = {c.line for c in a}, {c.line for c in b}
    assert not lines_a & lines_b and len(lines_a | lines_b) == 10
    assert all(c.attempts == 1 for c in a + b)
    # only the lease holder's result counts
    assert await queue.record_results("intruder", [result(batch_id, next(iter(lines_a)))], NOW) == 0
    assert await queue.record_results("wa", [result(batch_id, line) for line in lines_a], NOW) == len(lines_a)
    assert await queue.record_results("wa", [result(batch_id, next(iter(lines_a)))], NOW) == 0  # exactly once
    current = await stores.batches.get("t1", batch_id)
    assert current is not None and current.completed == len(lines_a)
    assert current.status is BatchStatus.IN_PROGRESS and current.input_tokens == 3 * len(lines_a)
    # wb dies: its leases expire and the lines are claimed again
    assert await queue.heartbeat("wa", NOW + 60) == 0  # wa holds no lease any more
    assert await queue.reclaim_expired(NOW + 31) == len(lines_b)
    again = await queue.claim("wc", "m", 10, NOW + 31, 30)
    assert {c.line for c in again} == lines_b and all(c.attempts == 2 for c in again)
    assert await queue.record_results("wb", [result(batch_id, line) for line in lines_b], NOW) == 0
    failed = [result(batch_id, c.line, ok=False) for c in again]
    assert await queue.record_results("wc", failed, NOW) == len(lines_b)
    done = await stores.batches.get("t1", batch_id)
    assert done is not None and done.status is BatchStatus.FINALIZING
    assert (done.completed, done.failed) == (len(lines_a), len(lines_b))


async def test_heartbeats_keep_leases(stores: Stores) -> None:
    await running_batch(stores, 3)
    claimed = await stores.queue.claim("w", "m", 3, NOW, 30)
    assert await stores.queue.heartbeat("w", NOW + 100) == len(claimed) == 3
    assert await stores.queue.reclaim_expired(NOW + 31) == 0
    assert await stores.queue.reclaim_expired(NOW + 101) == 3


async def test_retry_later_and_model_filter(stores: Stores) -> None:
    queue = stores.queue
    batch_id = await running_batch(stores, 2, model="m")
    assert await queue.claim("w", "other", 5, NOW, 30) == []
    claimed = await queue.claim("w", "m", 1, NOW, 30)
    assert not await queue.retry_later("intruder", batch_id, claimed[0].line, NOW + 10)
    assert await queue.retry_later("w", batch_id, claimed[0].line, NOW + 10)
    assert [c.line for c in await queue.claim("w", "m", 5, NOW, 30)] == [2]
    assert [c.line for c in await queue.claim("w", "m", 5, NOW + 11, 30)] == [1]
    assert await queue.depth() == {}


async def test_release_gives_a_workers_lines_back_at_once_with_their_attempt(stores: Stores) -> None:
    queue = stores.queue
    batch_id = await running_batch(stores, 4)
    mine = await queue.claim("w", "m", 3, NOW, 60)
    theirs = await queue.claim("x", "m", 1, NOW, 60)
    assert await queue.record_results("w", [result(batch_id, mine[0].line)], NOW) == 1
    assert await queue.release("w") == 2  # its two running lines; not the finished one, not x's
    again = await queue.claim("y", "m", 5, NOW, 60)  # at once: no lease to wait for
    assert {c.line for c in again} == {c.line for c in mine[1:]}
    assert all(c.attempts == 1 for c in again)  # the released attempt was refunded
    assert await queue.release("w") == 0
    assert await queue.record_results("w", [result(batch_id, mine[1].line)], NOW) == 0  # no longer its line
    assert await queue.record_results("x", [result(batch_id, theirs[0].line)], NOW) == 1
