"""PostgreSQL LISTEN/NOTIFY: a worker polling only every 30 s still takes a batch another node creates
at once (validation, its lines, its finalize), also after its listening connection was lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from jurist.backends.fake import FakeBackend
from jurist.composition import Services
from jurist.protocol.batches import BatchStatus
from jurist.runner.worker import Worker
from jurist.store.notify import CHANNEL
from tests.support.postgres import reset_postgres
from tests.support.service_batches import request_lines, result_ids, submit, wait_status
from tests.support.services import FAKE_MODELS, services_for

POLL = 30.0  # the workers' poll: a batch taken within a second was taken on a notification


async def _node(tmp_path: Path, url: str, **settings: Any) -> Services:
    fake = FakeBackend("ok")
    node = services_for(tmp_path, models=FAKE_MODELS, backends=dict.fromkeys(FAKE_MODELS, fake),
                        database_url=url, **settings)  # fmt: skip
    await node.start(run_worker=False)
    return node


@pytest.fixture
async def api_node(tmp_path: Path, postgres_url: str) -> AsyncIterator[Services]:
    """A node that takes API calls and runs no worker."""
    reset_postgres(postgres_url)
    node = await _node(tmp_path / "api", postgres_url)
    yield node
    await node.aclose()


async def _run_worker(node: Services, stop: asyncio.Event) -> tuple[Worker, asyncio.Task[None]]:
    worker = node.make_worker()
    task = asyncio.create_task(worker.run(stop))
    if worker.listener is not None:
        await asyncio.wait_for(worker.listener.listening.wait(), 10)
    await asyncio.sleep(0.3)  # its first polls (and those the listener's connect wakes) are over
    return worker, task


async def _time_to_complete(api_node: Services, prompts: list[str], limit: float) -> float | None:
    started = time.monotonic()
    batch_id = await submit(api_node, request_lines(prompts))
    try:
        async with asyncio.timeout(limit):
            batch = await wait_status(api_node, batch_id, {BatchStatus.COMPLETED})
    except TimeoutError:
        return None
    assert sorted(await result_ids(api_node, batch)) == sorted(f"c{i}" for i in range(len(prompts)))
    return time.monotonic() - started


async def test_a_worker_learns_of_new_work_at_once_and_after_a_lost_connection(
    tmp_path: Path, postgres_url: str, api_node: Services
) -> None:
    node = await _node(tmp_path / "worker", postgres_url, worker_poll_seconds=POLL)
    stop = asyncio.Event()
    try:
        worker, running = await _run_worker(node, stop)
        assert worker.listener is not None
        took = await _time_to_complete(api_node, ["one", "two", "three"], 5)
        assert took is not None and took < 3, took  # created → validated → lines → finalized: 0.1 s here

        with psycopg.connect(postgres_url, autocommit=True) as conn:  # the listening connection dies
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = %s",
                (f"LISTEN {CHANNEL}",),
            ).fetchall()
        assert killed == [(True,)]
        # announced while the listener reconnects, or after: either way taken at once (each connect
        # wakes the loops, for what was announced while nobody listened)
        took = await _time_to_complete(api_node, ["four", "five"], 5)
        assert took is not None and took < 3, took
        assert worker.listener.connects == 2
    finally:
        stop.set()
        await running
        await node.aclose()


async def test_without_notifications_a_worker_only_polls(
    tmp_path: Path, postgres_url: str, api_node: Services
) -> None:
    """The same worker with ``notify`` off: nothing tells it of the batch before its next poll."""
    node = await _node(tmp_path / "worker", postgres_url, worker_poll_seconds=POLL, notify=False)
    stop = asyncio.Event()
    try:
        worker, running = await _run_worker(node, stop)
        assert worker.listener is None
        assert await _time_to_complete(api_node, ["one"], 1.5) is None
    finally:
        stop.set()
        await running
        await node.aclose()
