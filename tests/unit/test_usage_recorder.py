"""The usage recorder (counts in memory, written in flushes, cost from the model's prices) over a real
SQLite store, and the bounded per-tenant Prometheus counters."""

from __future__ import annotations

import asyncio
import calendar
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from jurist.service.operations.metrics import Metrics
from jurist.service.tenancy.usage import Prices, UsageRecorder
from jurist.store.database import SqliteDatabase
from jurist.store.migrations import upgrade
from jurist.store.usage import SqlUsageStore, UsageCounts

MAY_1 = calendar.timegm((2024, 5, 1, 23, 59, 0, 0, 0, 0))  # one minute before midnight, UTC


class Clock:
    def __init__(self, now: float) -> None:
        self.at = now

    def now(self) -> float:
        return self.at


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    database = SqliteDatabase(tmp_path / "usage.db")
    await database.open()
    await upgrade(database)
    yield database
    await database.close()


def recorder(db: SqliteDatabase, clock: Clock, flush_seconds: float = 60, **kw: Metrics) -> UsageRecorder:
    prices = {"priced": Prices(2.5, 10.0)}  # per 1M input / output tokens
    return UsageRecorder(SqlUsageStore(db), prices, clock, flush_seconds, kw.get("metrics"))


async def test_counts_wait_in_memory_until_a_flush(db: SqliteDatabase) -> None:
    usage = recorder(db, Clock(MAY_1))
    for _ in range(3):
        usage.record(
            "t", "free", UsageCounts(requests=1, judge_calls=2, prompt_tokens=10, completion_tokens=4)
        )
    usage.record("t", "free", UsageCounts(requests=1, cache_hits=1))
    assert usage.pending == 1
    assert await usage.store.query("2024-05-01", "2024-05-01") == []  # nothing written yet
    await usage.flush()
    assert usage.pending == 0
    (total,) = await usage.store.query("2024-05-01", "2024-05-01")
    assert total.counts == UsageCounts(4, 6, 30, 12, 1, 0, 0.0)  # an unpriced model costs nothing
    await usage.flush()  # nothing pending: nothing added twice
    (again,) = await usage.store.query("2024-05-01", "2024-05-01")
    assert again.counts == total.counts


async def test_cost_comes_from_the_model_prices_at_record_time(db: SqliteDatabase) -> None:
    usage = recorder(db, Clock(MAY_1))
    usage.record("t", "priced", UsageCounts(requests=1, prompt_tokens=1000, completion_tokens=500))
    usage.record("t", "priced", UsageCounts(batch_lines=1, prompt_tokens=3, completion_tokens=0))
    usage.record("t", "priced", UsageCounts(batch_lines=1, cache_hits=1, cost=99.0))  # no tokens: no cost
    await usage.flush()
    (row,) = await usage.store.query("2024-05-01", "2024-05-01", ["model"])
    # 1000 × 2.5/1M + 500 × 10/1M = 0.0025 + 0.005; 3 × 2.5/1M = 0.0000075
    assert row.counts.cost == pytest.approx(0.0075075, abs=1e-12)
    assert (row.counts.requests, row.counts.batch_lines, row.counts.cache_hits) == (1, 2, 1)


async def test_usage_is_kept_per_utc_day(db: SqliteDatabase) -> None:
    clock = Clock(MAY_1)
    usage = recorder(db, clock)
    usage.record("t", "m", UsageCounts(requests=1))
    clock.at += 120  # past midnight UTC
    usage.record("t", "m", UsageCounts(requests=2))
    usage.record("u", "m", UsageCounts(requests=4))
    assert usage.pending == 3
    await usage.flush()
    rows = await usage.store.query("2024-05-01", "2024-05-02", ["tenant", "day"])
    assert [(r.tenant, r.day, r.counts.requests) for r in rows] == [
        ("t", "2024-05-01", 1),
        ("t", "2024-05-02", 2),
        ("u", "2024-05-02", 4),
    ]


async def test_run_flushes_every_interval_and_once_more_on_stop(db: SqliteDatabase) -> None:
    usage = recorder(db, Clock(MAY_1), flush_seconds=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(usage.run(stop))
    usage.record("t", "m", UsageCounts(requests=1))
    for _ in range(100):
        await asyncio.sleep(0.02)
        if usage.pending == 0:
            break
    assert usage.pending == 0
    assert (await usage.store.query("2024-05-01", "2024-05-01"))[0].counts.requests == 1
    usage.record("t", "m", UsageCounts(requests=2))
    stop.set()
    await asyncio.wait_for(task, 5)
    assert (await usage.store.query("2024-05-01", "2024-05-01"))[0].counts.requests == 3


async def test_a_failed_flush_keeps_the_counts_for_the_next(tmp_path: Path, db: SqliteDatabase) -> None:
    usage = recorder(db, Clock(MAY_1))
    usage.record("t", "m", UsageCounts(requests=1))
    await db.close()  # the database goes away
    with pytest.raises(Exception):  # noqa: B017 - whatever the closed connection raises
        await usage.flush()
    usage.record("t", "m", UsageCounts(requests=2))
    assert usage.pending == 1
    await db.open()
    await usage.flush()
    assert (await usage.store.query("2024-05-01", "2024-05-01"))[0].counts.requests == 3


def test_tenant_labels_are_bounded() -> None:
    metrics = Metrics(tenant_labels=2)
    for tenant in ("a", "b", "c", "d", "a"):
        metrics.tenant_usage(
            tenant, UsageCounts(requests=1, prompt_tokens=10, completion_tokens=5, batch_lines=2, cost=0.5)
        )
    text = generate_latest(metrics.registry).decode()
    lines = [x for x in text.splitlines() if x.startswith("jurist_tenant_") and "_created" not in x]
    assert 'jurist_tenant_requests_total{tenant="a"} 2.0' in lines
    assert 'jurist_tenant_requests_total{tenant="b"} 1.0' in lines
    assert 'jurist_tenant_requests_total{tenant="other"} 2.0' in lines  # c and d
    assert 'jurist_tenant_tokens_total{kind="prompt",tenant="other"} 20.0' in lines
    assert 'jurist_tenant_tokens_total{kind="completion",tenant="a"} 10.0' in lines
    assert 'jurist_tenant_batch_lines_total{tenant="other"} 4.0' in lines
    assert 'jurist_tenant_cost_total{tenant="a"} 1.0' in lines
    assert {x.split('tenant="')[1].split('"')[0] for x in lines} == {"a", "b", "other"}
    assert metrics.tenant_label("c") == "other" and metrics.tenant_label("b") == "b"


def test_no_tenant_labels_counts_everyone_as_other() -> None:
    metrics = Metrics(tenant_labels=0)
    metrics.tenant_usage("a", UsageCounts(requests=1))
    text = generate_latest(metrics.registry).decode()
    assert 'jurist_tenant_requests_total{tenant="other"} 1.0' in text and 'tenant="a"' not in text
