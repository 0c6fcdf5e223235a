"""Drain on stop: in-flight lines may finish for ``drain_seconds``; what is left is released at once
(attempt refunded), so another node takes it long before the lease would have expired."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from jurist.backends.base import Generation, GenerationRequest, flatten_content
from jurist.backends.fake import FakeBackend
from jurist.protocol.batches import BatchStatus
from jurist.runner.worker import RunnerConfig, Worker
from jurist.store.blobs import BlobStore, BlobWriter
from tests.support.live import StubUpstream
from tests.support.nodes import (
    check_exactly_once,
    client_on_a_free_port,
    env_for,
    process,
    progress,
    submit,
    wait_http,
)
from tests.support.postgres import reset_postgres
from tests.support.service_batches import line_rows, request_lines, result_ids, wait_status
from tests.support.service_batches import submit as submit_in_process
from tests.support.services import services_for

MODELS = {"pai-judge": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "max_concurrency": 8}}
LEASE = 60.0


class SlowAndFast(FakeBackend):
    """Answers prompts with "fast" after 0.3 s, and holds prompts with "slow" until cancelled."""

    def __init__(self, expected: int) -> None:
        super().__init__("ok")
        self.started = 0
        self.expected = expected
        self.all_started = asyncio.Event()  # ``expected`` calls are under way

    async def generate(self, request: GenerationRequest) -> Generation:
        self.started += 1
        if self.started >= self.expected:
            self.all_started.set()
        prompt = flatten_content(request.messages[-1].get("content"))
        await asyncio.sleep(0.3 if "fast" in prompt else 3600)
        return await super().generate(request)


async def test_a_stopping_node_records_what_finishes_and_releases_the_rest_at_once(
    tmp_path: Path, database_settings: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    options: dict[str, Any] = dict(
        models=MODELS, worker_poll_seconds=0.05, worker_lease_seconds=LEASE, drain_seconds=1.0, **database_settings
    )  # fmt: skip
    prompts = ["fast 0", "slow 1", "fast 2", "slow 3", "fast 4", "slow 5"]
    slow = SlowAndFast(len(prompts))
    node = services_for(tmp_path, backends={"pai-judge": slow}, **options)
    await node.start()  # with its in-server worker, as `jurist serve` runs it
    batch_id = await submit_in_process(node, request_lines(prompts))
    await asyncio.wait_for(slow.all_started.wait(), 10)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="jurist.runner"):
        await node.aclose()  # uvicorn's lifespan shutdown on SIGTERM: stop, drain, release
    took = time.monotonic() - started
    assert 0.9 < took < 5, took  # the fast lines finished inside the drain; the slow ones were cut at 1 s
    assert "3 in-flight lines finished, 3 cancelled" in caplog.text and "3 lines released" in caplog.text

    other = services_for(tmp_path, backends={"pai-judge": FakeBackend("ok")}, **options)
    await other.start(run_worker=False)
    try:
        rows = await line_rows(other, batch_id)
        assert {c: (r["state"], r["attempts"], r["lease_owner"]) for c, r in rows.items()} == {
            "c0": ("succeeded", 1, None), "c2": ("succeeded", 1, None), "c4": ("succeeded", 1, None),
            "c1": ("queued", 0, None), "c3": ("queued", 0, None), "c5": ("queued", 0, None),
        }  # fmt: skip
        stop = asyncio.Event()
        running = asyncio.create_task(other.make_worker().run(stop))
        started = time.monotonic()
        async with asyncio.timeout(10):
            batch = await wait_status(other, batch_id, {BatchStatus.COMPLETED})
        assert time.monotonic() - started < 10 < LEASE  # claimed at once, not after the lease
        stop.set()
        await running
        assert sorted(await result_ids(other, batch)) == [f"c{i}" for i in range(6)]  # each exactly once
        assert {r["attempts"] for r in (await line_rows(other, batch_id)).values()} == {1}  # none burned
    finally:
        await other.aclose()


def test_sigterm_drains_a_worker_process_and_another_finishes_at_once(
    tmp_path: Path, postgres_url: str
) -> None:
    """`jurist worker` on PostgreSQL gets SIGTERM mid-batch; its lines in flight go back at once and the
    other worker finishes the batch well before the 60 s lease would have let it."""
    reset_postgres(postgres_url)
    lines = 24
    with StubUpstream("--delay-ms", "1500") as stub, client_on_a_free_port() as (port, client):
        env = env_for(tmp_path, stub, JURIST_DATABASE_URL=postgres_url, JURIST_RUN_WORKER="false",
                      JURIST_WORKER_LEASE_SECONDS="60", JURIST_DRAIN_SECONDS="0.3")  # fmt: skip
        log = (tmp_path / "stopped.log").open("wb")
        with process(["serve", "--port", str(port)], env), process(["worker"], env, log) as stopped:
            wait_http(port)
            with process(["worker"], env):
                batch_id = submit(client, tmp_path, lines)
                progress(client, batch_id, 8)  # both workers are running lines
                sent = time.monotonic()
                stopped.send_signal(signal.SIGTERM)
                assert stopped.wait(timeout=10) == 0
                assert time.monotonic() - sent < 8  # 0.3 s of drain, then the process ends
                check_exactly_once(client, batch_id, lines, timeout=50)
                assert time.monotonic() - sent < 30  # its released lines did not wait for the 60 s lease
        log.close()
        assert "lines released to the queue" in (tmp_path / "stopped.log").read_text()
        with psycopg.connect(postgres_url) as conn:
            attempts = conn.execute("SELECT DISTINCT attempts FROM batch_requests").fetchall()
        assert attempts == [(1,)]  # the released lines got their attempt back


class StalledInput:
    """The node's blob store, except that reading a batch's input stalls after its first part (as a
    huge file being validated would): the validation is still running when the node stops."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self.kind = blobs.kind
        self.stalled = asyncio.Event()

    def writer(self, file_id: str) -> BlobWriter:
        return self.blobs.writer(file_id)

    async def read(self, file_id: str) -> AsyncIterator[bytes]:
        async for chunk in self.blobs.read(file_id):
            yield chunk
        if file_id.startswith("file-"):
            self.stalled.set()
            await asyncio.sleep(3600)

    async def delete(self, file_id: str) -> None:
        await self.blobs.delete(file_id)


async def test_a_batch_task_cut_short_by_the_drain_is_released_at_once(
    tmp_path: Path, database_settings: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    node = services_for(
        tmp_path, models=MODELS, backends={"pai-judge": FakeBackend("ok")}, **database_settings
    )
    await node.start(run_worker=False)
    try:
        stores, blobs = node.stores, StalledInput(node.blobs)
        config = RunnerConfig(lease_seconds=LEASE, poll_seconds=0.05, drain_seconds=0.2)
        worker = Worker(stores.files, stores.tasks, stores.queue, blobs, node.chat,
                        {"pai-judge": node.chat.models["pai-judge"].config}, config, node.clock)  # fmt: skip
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        batch_id = await submit_in_process(node, request_lines(["one", "two"]))
        worker.nudge()
        await asyncio.wait_for(blobs.stalled.wait(), 10)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="jurist.runner"):
            stop.set()
            await running
        assert time.monotonic() - started < 2
        assert f"batch {batch_id}: validating step cut short by the drain; released" in caplog.text
        taken = await stores.tasks.claim("another-node", node.clock.now(), LEASE)  # no lease to wait for
        assert taken is not None and taken.id == batch_id and taken.status is BatchStatus.VALIDATING
    finally:
        await node.aclose()
