"""The sweep: bytes no file row owns, spools no batch needs, expired files and the line rows of long
finished batches go; what is in use stays; one node sweeps at a time; /metrics counts it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jurist.composition import Services
from jurist.protocol.batches import BatchStatus
from jurist.runner.spool import SpoolWriter, read_spool
from jurist.runner.sweep import Sweeper
from jurist.store.records import BatchRecord, RequestLine
from tests.support.live import ManualClock
from tests.support.service_batches import TENANT, line_rows, upload
from tests.support.services import FAKE_MODELS, services_for

HOUR = 3600


@pytest.fixture
async def node(
    tmp_path: Path, database_settings: dict[str, Any]
) -> AsyncIterator[tuple[Services, ManualClock]]:
    clock = ManualClock()
    services = services_for(tmp_path, FAKE_MODELS, clock=clock, **database_settings)
    await services.start(run_worker=False)
    yield services, clock
    await services.aclose()


def sweeper_of(services: Services) -> Sweeper:
    sweeper = services.make_worker().sweeper
    assert sweeper is not None
    return sweeper


async def batch(services: Services, batch_id: str, status: BatchStatus, finished_at: int, lines: int) -> None:
    """A batch in ``status`` (finished at ``finished_at``, when finished) with ``lines`` rows."""
    finished = status in (BatchStatus.COMPLETED, BatchStatus.FAILED, BatchStatus.CANCELLED)
    record = BatchRecord(batch_id, TENANT, "/v1/chat/completions", "file-x", "24h", status, finished_at - 60,
                         None, completed_at=finished_at if finished else None)  # fmt: skip
    await services.stores.batches.insert(record)
    await services.stores.tasks.add_lines(
        batch_id, [RequestLine(i, f"c{i}", "m", "{}") for i in range(lines)]
    )


async def spool(services: Services, batch_id: str) -> None:
    writer = SpoolWriter(services.blobs, batch_id)
    await writer.open()
    await writer.add(1, b'{"cached": true}')
    await writer.commit()


async def sweep_runs(services: Services) -> float:
    metrics = (await services.metrics.render(services.stores.queue)).decode()
    return next(
        float(line.split()[1]) for line in metrics.splitlines() if line.startswith("jurist_sweep_runs_total ")
    )


async def read(services: Services, file_id: str) -> bytes:
    try:
        return b"".join([chunk async for chunk in services.blobs.read(file_id)])
    except FileNotFoundError:
        return b""


async def test_the_sweep_collects_orphans_expired_files_and_old_rows(
    node: tuple[Services, ManualClock], tmp_path: Path
) -> None:
    services, clock = node
    sweeper = sweeper_of(services)
    now = int(clock.now())
    kept = await upload(services, b'{"a": 1}\n')  # batch input: expires in 30 days
    expiring = await upload(services, b'{"b": 2}\n', expires_after=HOUR)
    writer = services.blobs.writer("file-orphan")  # bytes whose row never came (a crash in between)
    await writer.write(b"lost")
    await writer.commit()
    await services.stores.chunks.put("file-gone", 0, b"lost")  # parts in the database, whatever the storage
    disk = tmp_path / "data" / "files"
    disk.mkdir(exist_ok=True)
    (disk / "file-cut.part").write_bytes(b"half")  # a disk write that never finished
    await batch(services, "batch_old", BatchStatus.COMPLETED, now - 8 * 86400, 3)
    await batch(services, "batch_recent", BatchStatus.COMPLETED, now - 86400, 2)
    await batch(services, "batch_running", BatchStatus.IN_PROGRESS, now, 2)
    await spool(services, "batch_old")  # finalize committed, then crashed before deleting it
    await spool(services, "batch_running")  # read when the batch finalizes

    first = await sweeper.run_once()  # everything orphaned is still within the grace period
    assert first == {"orphan_blobs": 0, "spools": 0, "expired_files": 0, "batch_rows": 3}
    assert await line_rows(services, "batch_old") == {}
    assert (
        len(await line_rows(services, "batch_recent")) == len(await line_rows(services, "batch_running")) == 2
    )

    clock.advance(2 * HOUR)
    second = await sweeper.run_once()
    assert second == {"orphan_blobs": 3, "spools": 1, "expired_files": 1, "batch_rows": 0}
    assert await services.stores.files.get(TENANT, expiring) is None
    assert await read(services, expiring) == await read(services, "file-orphan") == b""
    assert await services.stores.chunks.get("file-gone", 0) is None and not (disk / "file-cut.part").exists()
    assert await services.stores.files.get(TENANT, kept) is not None
    assert await read(services, kept) == b'{"a": 1}\n'
    assert [line async for line in read_spool(services.blobs, "batch_running")] == [(1, b'{"cached": true}')]
    assert [line async for line in read_spool(services.blobs, "batch_old")] == []
    assert await sweeper.run_once() == dict.fromkeys(second, 0)  # nothing left

    metrics = (await services.metrics.render(services.stores.queue)).decode()
    assert "jurist_sweep_runs_total 3.0" in metrics
    assert 'jurist_swept_total{kind="orphan_blobs"} 3.0' in metrics
    assert 'jurist_swept_total{kind="batch_rows"} 3.0' in metrics


async def test_one_node_sweeps_at_a_time(tmp_path: Path, database_settings: dict[str, Any]) -> None:
    clock = ManualClock()
    a, b = (
        services_for(tmp_path, FAKE_MODELS, clock=clock, **database_settings) for _ in range(2)
    )  # one database
    await a.start(run_worker=False)
    await b.start(run_worker=False)
    try:
        sweepers = [sweeper_of(a), sweeper_of(b)]
        rounds = await asyncio.gather(*(s.run_once() for s in sweepers))
        assert sorted(r is None for r in rounds) == [False, True]  # the race has one winner
        holder, other = sweepers if rounds[0] is not None else sweepers[::-1]
        assert await other.run_once() is None
        assert await holder.run_once() is not None  # it renews its lease each round

        stop = asyncio.Event()
        stop.set()
        await holder.run(stop)  # a node that stops gives the lease up: the other takes it at once
        assert await other.run_once() is not None
        assert await holder.run_once() is None
        clock.advance(2 * 300 + 1)  # a node that dies holds it only until its lease runs out
        assert await holder.run_once() is not None

        runs = [await sweep_runs(n) for n in (a, b)]
        assert sorted(runs) == [1.0, 3.0]  # rounds each node ran, not those it left to the other
    finally:
        await a.aclose()
        await b.aclose()


async def test_the_worker_sweeps_when_it_starts(tmp_path: Path) -> None:
    clock = ManualClock()
    before = services_for(tmp_path, FAKE_MODELS, clock=clock)
    await before.start(run_worker=False)
    await before.stores.chunks.put("file-gone", 0, b"lost")  # then the node crashed
    await before.aclose()
    clock.advance(2 * HOUR)
    services = services_for(tmp_path, FAKE_MODELS, clock=clock)
    await services.start()  # the in-server worker, as `jurist serve` runs it (`jurist worker` alike)
    try:
        for _ in range(100):
            if await services.stores.chunks.get("file-gone", 0) is None:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the worker did not sweep")
        metrics = (await services.metrics.render(services.stores.queue)).decode()
        assert 'jurist_swept_total{kind="orphan_blobs"} 1.0' in metrics
    finally:
        await services.aclose()
