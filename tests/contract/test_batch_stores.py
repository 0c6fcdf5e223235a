"""Batches as the API sees them and as the runner moves them: on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from jurist.composition import Stores
from jurist.errors import Conflict
from jurist.protocol.batches import BatchStatus
from jurist.service.jobs.batches import BatchService
from jurist.store.records import FileRecord, LineState, RequestLine
from tests.support.store_records import NOW, batch, file, result, running_batch


class FixedClock:
    def now(self) -> float:
        return NOW


async def test_batches_are_per_tenant_and_cancel_is_compare_and_set(stores: Stores) -> None:
    batches = stores.batches
    for i in range(1, 4):
        await batches.insert(batch(i))
    await batches.insert(batch(7, tenant="t2"))
    page = await batches.page("t1", after=None, limit=2)
    assert [b.id for b in page.items] == ["batch_003", "batch_002"] and page.has_more
    page = await batches.page("t1", after="batch_002", limit=2)
    assert [b.id for b in page.items] == ["batch_001"] and not page.has_more
    assert await batches.get("t2", "batch_001") is None
    assert await batches.request_cancel("t2", "batch_001", NOW) is None
    cancelled = await batches.request_cancel("t1", "batch_001", NOW)
    assert cancelled is not None and cancelled.cancelling_at == NOW
    assert cancelled.status is BatchStatus.CANCELLING and cancelled.outcome is BatchStatus.CANCELLED


async def test_an_idempotency_key_is_a_unique_key_per_tenant(stores: Stores) -> None:
    batches = stores.batches
    await batches.insert(batch(1, idempotency_key="nightly"))
    with pytest.raises(Conflict):
        await batches.insert(batch(2, idempotency_key="nightly"))
    with pytest.raises(Conflict):
        await batches.insert(batch(1, idempotency_key="another"))  # a taken id
    await batches.insert(batch(3, tenant="t2", idempotency_key="nightly"))
    await batches.insert(batch(4))  # without keys, any number
    await batches.insert(batch(5))
    found = await batches.by_idempotency_key("t1", "nightly")
    assert found is not None and found.id == "batch_001"
    assert [b.id for b in (await batches.page("t1", after=None, limit=10)).items] == [
        "batch_005",
        "batch_004",
        "batch_001",
    ]


async def test_concurrent_creates_with_one_idempotency_key_make_one_batch(stores: Stores) -> None:
    """Both calls miss the key, both insert: the loser's Conflict returns the winner's batch."""
    await stores.files.insert(file(1))
    service = BatchService(stores.batches, stores.files, FixedClock())
    body = {"input_file_id": "file-001", "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    made = await asyncio.gather(*(service.create("t1", body, "same-key") for _ in range(4)))
    assert len({b.id for b in made}) == 1
    assert len((await stores.batches.page("t1", after=None, limit=10)).items) == 1


async def test_failed_validation_discards_lines(stores: Stores) -> None:
    await stores.batches.insert(batch(1))
    task = await stores.tasks.claim("w", NOW, 60)
    assert task is not None
    assert await stores.tasks.claim("w2", NOW, 60) is None  # the task is leased
    await stores.tasks.add_lines(task.id, [RequestLine(1, "a", "m", "{}")])
    errors = [{"code": "invalid_json_line", "message": "bad", "param": None, "line": 2}]
    assert not await stores.tasks.fail(task.id, "w2", errors, NOW)  # not the task's owner
    assert await stores.tasks.fail(task.id, "w", errors, NOW)
    failed = await stores.batches.get("t1", task.id)
    assert failed is not None and failed.status is BatchStatus.FAILED and failed.errors == errors
    assert await stores.tasks.finished_lines(task.id, 0, 10) == []
    assert await stores.queue.depth() == {}


async def test_expiry_finishes_lines_in_input_order(stores: Stores) -> None:
    batch_id = await running_batch(stores, 5)
    claimed = await stores.queue.claim("w", "m", 2, NOW, 30)
    await stores.queue.record_results("w", [result(batch_id, c.line) for c in claimed], NOW)
    task = await stores.tasks.claim("w", NOW + 90_000, 60)  # past expires_at
    assert task is not None and task.status is BatchStatus.IN_PROGRESS
    assert await stores.tasks.expire_open_lines(batch_id, "w", NOW + 90_000) == 3
    lines = await stores.tasks.finished_lines(batch_id, 0, 100)
    assert [(x.line, x.state) for x in lines] == [(1, LineState.SUCCEEDED), (2, LineState.SUCCEEDED)] + [
        (n, LineState.EXPIRED) for n in (3, 4, 5)
    ]
    assert [x.line for x in await stores.tasks.finished_lines(batch_id, 2, 2)] == [3, 4]
    out = FileRecord("file-out", "t1", "batch_output", "o.jsonl", 5, NOW, None)
    assert await stores.tasks.finish(batch_id, "someone-else", out, None, NOW) is False
    assert await stores.tasks.finish(batch_id, "w", out, None, NOW) is True
    final = await stores.batches.get("t1", batch_id)
    assert final is not None and final.status is BatchStatus.EXPIRED
    assert final.expired_at == NOW and final.failed == 3 and final.output_file_id == "file-out"
    assert await stores.files.get("t1", "file-out") == out


async def test_a_cancel_waits_for_live_leases_and_leaves_queued_lines_undone(stores: Stores) -> None:
    batch_id = await running_batch(stores, 4)
    claimed = await stores.queue.claim("w", "m", 2, NOW, 30)
    assert await stores.batches.request_cancel("t1", batch_id, NOW) is not None
    task = await stores.tasks.claim("w", NOW, 60)
    assert task is not None and task.status is BatchStatus.CANCELLING
    assert await stores.tasks.settle_cancel(batch_id, NOW) == 2  # still running under live leases
    assert await stores.queue.record_results("w", [result(batch_id, claimed[0].line)], NOW) == 1
    assert await stores.tasks.settle_cancel(batch_id, NOW + 31) == 0  # the other lease ran out
    assert await stores.tasks.finish(batch_id, "w", None, None, NOW + 31)
    final = await stores.batches.get("t1", batch_id)
    assert final is not None and final.status is BatchStatus.CANCELLED and final.cancelled_at == NOW + 31
    lines = await stores.tasks.finished_lines(batch_id, 0, 10)
    assert [x.state for x in lines] == [LineState.SUCCEEDED] + [LineState.CANCELLED] * 3
    assert await stores.queue.depth() == {}


async def test_a_batch_the_cache_answered_whole_goes_straight_to_finalizing(stores: Stores) -> None:
    await stores.batches.insert(batch(1))
    task = await stores.tasks.claim("w", NOW, 60)
    assert task is not None
    await stores.tasks.add_lines(task.id, [], answered=(3, 30, 40))
    assert await stores.tasks.start(task.id, "w", 3, "m", NOW)
    started = await stores.batches.get("t1", task.id)
    assert started is not None and started.status is BatchStatus.FINALIZING
    assert (started.completed, started.input_tokens, started.output_tokens) == (3, 30, 40)
