"""Batches driven through the services in process (no HTTP): upload and create, wait for a status,
read the results and the queue rows behind them. For tests of the runner across several ``Services``
sharing one database (nodes in one process)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from jurist.composition import Services
from jurist.protocol.batches import BatchStatus
from jurist.store.records import BatchRecord

TENANT = "tenant-a"


def request_lines(prompts: Iterable[str], model: str = "pai-judge") -> bytes:
    """A batch input file: one chat request per prompt, custom ids c0, c1, …"""
    lines = (
        json.dumps(
            {"custom_id": f"c{i}", "body": {"model": model, "messages": [{"role": "user", "content": p}]}}
        )
        for i, p in enumerate(prompts)
    )
    return "".join(line + "\n" for line in lines).encode()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def upload(services: Services, data: bytes, expires_after: int | None = None) -> str:
    record = await services.files.upload(TENANT, "input.jsonl", "batch", _once(data), expires_after)
    return record.id


async def submit(services: Services, data: bytes) -> str:
    file_id = await upload(services, data)
    body = {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    return (await services.batches.create(TENANT, body)).id


async def wait_status(services: Services, batch_id: str, statuses: set[BatchStatus]) -> BatchRecord:
    """Poll until the batch reaches one of ``statuses`` (bound it with ``asyncio.timeout``)."""
    while True:
        batch = await services.stores.batches.get(TENANT, batch_id)
        assert batch is not None
        if batch.status in statuses:
            return batch
        await asyncio.sleep(0.02)


async def result_ids(services: Services, batch: BatchRecord) -> list[str]:
    """The custom ids in a finished batch's output and error files, in file order."""
    ids = []
    for file_id in (batch.output_file_id, batch.error_file_id):
        if file_id:
            data = b"".join([chunk async for chunk in services.blobs.read(file_id)])
            ids += [json.loads(line)["custom_id"] for line in data.splitlines()]
    return ids


async def line_rows(services: Services, batch_id: str) -> dict[str, dict[str, Any]]:
    """The queue rows of a batch by custom id: state, attempts, lease owner."""
    async with services.db.transaction() as tx:
        rows = await tx.fetchall(
            "SELECT custom_id, state, attempts, lease_owner FROM batch_requests WHERE batch_id = :b",
            {"b": batch_id},
        )
    return {r["custom_id"]: r for r in rows}
