"""A model's shared upstream state (pause, circuit breaker, half-open probe), on SQLite and PostgreSQL,
with two nodes on one database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from jurist.composition import Stores
from jurist.store.database import Database, PostgresDatabase, SqliteDatabase
from jurist.store.upstream import Gate, SqlUpstreamState
from tests.support.store_records import NOW, running_batch


@pytest.fixture
async def other_node(database: Database, stores: Stores) -> AsyncIterator[Database]:
    """A second connection (pool) to the same migrated database: another node."""
    other: Database = (
        SqliteDatabase(database.path)
        if isinstance(database, SqliteDatabase)
        else PostgresDatabase(database.url)  # type: ignore[attr-defined]
    )
    await other.open()
    try:
        yield other
    finally:
        await other.close()


async def test_a_pause_is_shared_and_only_extends(database: Database, other_node: Database) -> None:
    here, there = SqlUpstreamState(database), SqlUpstreamState(other_node)
    assert await here.gate("m") == Gate()  # a model never seen is closed, not paused
    paused = await here.pause("m", NOW + 10, NOW)
    assert paused.state == "closed" and paused.closed_in(NOW) == 10
    assert (await there.gate("m")).paused_until == NOW + 10  # seen by the other node
    assert (await there.pause("m", NOW + 5, NOW)).paused_until == NOW + 10  # never shortened
    assert (await there.pause("m", NOW + 20, NOW)).paused_until == NOW + 20
    assert (await here.gate("m")).closed_in(NOW + 25) == 0
    assert await here.gate("other") == Gate()


async def test_failures_in_a_row_open_the_circuit(database: Database, other_node: Database) -> None:
    here, there = SqlUpstreamState(database), SqlUpstreamState(other_node)
    assert (await here.record_failure("m", NOW, 3, 30)).failures == 1
    assert await here.record_success("m", NOW) == Gate()  # a success resets the count
    assert await here.record_success("m", NOW) is None  # nothing to reset: nothing written
    await here.record_failure("m", NOW, 3, 30)
    assert (await there.record_failure("m", NOW, 3, 30)) == Gate("closed", 0, 2)  # counted across nodes
    opened = await here.record_failure("m", NOW + 1, 3, 30)
    assert opened.state == "open" and opened.failures == 3 and opened.paused_until == NOW + 31
    # a late failure of a call already in flight does not extend the cooldown
    late = await there.record_failure("m", NOW + 2, 3, 30)
    assert late.state == "open" and late.paused_until == NOW + 31
    assert (await there.gate("m")).closed_in(NOW + 11) == 20


async def test_exactly_one_probe_across_nodes(database: Database, other_node: Database) -> None:
    here, there = SqlUpstreamState(database), SqlUpstreamState(other_node)
    for _ in range(2):
        await here.record_failure("m", NOW, 2, 5)
    assert not await here.try_probe("m", "early", NOW + 4, 60)  # still cooling down
    owners = [f"n{i}" for i in range(20)]
    won = await asyncio.gather(
        *((here if i % 2 else there).try_probe("m", owner, NOW + 5, 60) for i, owner in enumerate(owners))
    )
    assert sum(won) == 1
    winner = owners[won.index(True)]
    probing = await there.gate("m")
    assert probing.state == "half_open" and probing.probe_owner == winner
    assert probing.probe_until == NOW + 65
    assert not await here.try_probe("m", "late", NOW + 6, 60)  # in flight: nobody else
    # the probe fails: open again, for another cooldown
    reopened = await here.record_failure("m", NOW + 7, 2, 5)
    assert reopened.state == "open" and reopened.paused_until == NOW + 12 and reopened.probe_owner is None
    assert not await there.try_probe("m", "n0", NOW + 11, 60)
    assert await there.try_probe("m", "n1", NOW + 12, 60)
    # the prober's node dies: once probe_until is past, another node takes the probe over
    assert not await here.try_probe("m", "n2", NOW + 71, 60)
    assert await here.try_probe("m", "n2", NOW + 72, 60)
    # its success closes the circuit
    assert await here.record_success("m", NOW + 73) == Gate("closed", NOW + 12, 0)
    assert not await there.try_probe("m", "n3", NOW + 74, 60)  # closed: there is nothing to probe


async def test_a_refunded_retry_does_not_count_the_attempt(stores: Stores) -> None:
    """A line the paused upstream sent back keeps its attempts; an ordinary retry counts."""
    queue = stores.queue
    batch_id = await running_batch(stores, 2)
    first = await queue.claim("w", "m", 2, NOW, 30)
    assert [c.attempts for c in first] == [1, 1]
    assert await queue.retry_later("w", batch_id, 1, NOW + 5, refund=True)
    assert await queue.retry_later("w", batch_id, 2, NOW + 5)
    assert not await queue.retry_later("intruder", batch_id, 1, NOW + 5, refund=True)  # lease holder only
    assert await queue.claim("w", "m", 2, NOW + 4, 30) == []  # not before the pause's end
    again = {c.line: c.attempts for c in await queue.claim("w", "m", 2, NOW + 5, 30)}
    assert again == {1: 1, 2: 2}
