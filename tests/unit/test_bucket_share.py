"""``service.bucket_share`` over a real SQLite database: a busy process takes a model's requests in
blocks (one round trip per block, never more calls than units taken) and pays its tokens in blocks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jurist.ids import SystemClock
from jurist.service.tenancy.bucket_share import HOLD_SECONDS, MAX_BLOCK, RequestShare, TokenShare, block_for
from jurist.store.database import SqliteDatabase
from jurist.store.migrations import upgrade
from jurist.store.rate_limits import Allowance, SqlRateBuckets
from tests.support.live import FrozenClock


@pytest.fixture
async def buckets(tmp_path: Path) -> AsyncIterator[SqlRateBuckets]:
    database = SqliteDatabase(tmp_path / "share.db")
    await database.open()
    await upgrade(database)
    yield SqlRateBuckets(database)
    await database.close()


def test_blocks_are_a_tenth_of_a_seconds_worth() -> None:
    assert block_for(600) == 1  # 10 a second: a round trip per call, as without blocks
    assert block_for(60_000) == 64 == MAX_BLOCK  # 1,000 a second: capped
    assert block_for(6_000_000, cap=None) == 10_000


async def test_requests_are_taken_a_block_at_a_time(buckets: SqlRateBuckets) -> None:
    clock = FrozenClock()  # the bucket refills 1,000 a second: a moving clock would blur the count
    share = RequestShare(buckets, "r", 60_000, clock)
    for _ in range(10):
        assert await share.take() == 0.0
    left = await buckets.peek("r", 60_000, clock.now())
    assert left.remaining == 60_000 - 64  # one block taken, not ten round trips


class CountingBuckets(SqlRateBuckets):
    """The real buckets, counting the round trips that take units."""

    takes: list[float]

    async def take(self, name: str, limit: int, cost: float, now: float, period: float = 60.0) -> Allowance:
        self.takes.append(cost)
        return await super().take(name, limit, cost, now, period)


async def test_units_not_spent_in_time_are_dropped_not_saved(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "count.db")
    await database.open()
    await upgrade(database)
    buckets = CountingBuckets(database)
    buckets.takes = []
    share = RequestShare(buckets, "r", 60_000, SystemClock())
    assert await share.take() == 0.0 and await share.take() == 0.0
    assert buckets.takes == [64]  # two calls, one block
    await asyncio.sleep(HOLD_SECONDS + 0.05)
    assert await share.take() == 0.0
    assert buckets.takes == [64, 64]  # the first block's 62 units left were dropped
    await database.close()


async def test_a_small_limit_is_never_exceeded_by_the_blocks(buckets: SqlRateBuckets) -> None:
    """Two processes' shares of one bucket of 120 a minute (burst 120): 120 calls go, the next waits."""
    clock = FrozenClock()  # refills 2 a second: a moving clock could let a 121st through
    shares = [RequestShare(buckets, "small", 120, clock) for _ in range(2)]
    went = [await shares[i % 2].take() == 0.0 for i in range(130)]
    assert sum(went) == 120 and went[:120] == [True] * 120


async def test_tokens_are_paid_in_blocks_and_checked_again_once_paid(buckets: SqlRateBuckets) -> None:
    clock = FrozenClock()
    share = TokenShare(buckets, "t", 6_000_000, clock)  # a block is 10,000 tokens
    assert await share.wait() == 0.0
    for _ in range(19):
        await share.charge(500)
    assert (await buckets.peek("t", 6_000_000, clock.now())).remaining == 6_000_000  # still owed
    await share.charge(500)  # 10,000 owed: paid
    # paid (the bucket refills 100,000 tokens a second: a few ms of refill at most)
    assert (await buckets.peek("t", 6_000_000, clock.now())).remaining <= 6_000_000 - 9_000


async def test_a_spent_token_bucket_holds_the_next_call(buckets: SqlRateBuckets) -> None:
    clock = SystemClock()
    share = TokenShare(buckets, "t", 600, clock)  # block 1: every charge is paid at once
    assert await share.wait() == 0.0
    await share.charge(900)  # more than the bucket holds: in debt
    assert await share.wait() > 0.0
