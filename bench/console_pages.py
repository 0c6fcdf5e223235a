#!/usr/bin/env python3
"""Server time of the console's batch pages for a tenant with a completed 50,000-line batch.

    .venv/bin/python bench/console_pages.py [--lines 50000] [--batches 100] [--requests 30] [--report]

The batch is written through the services (no judge runs): the input file uploaded by the Files use case
(pairwise lines naming three competitors), its output file (one judged line each) and the batch record
as the runner leaves a completed batch, plus ``--batches`` older 3-line batches so the list has pages.
Then, in process through the ASGI app (httpx's ASGITransport: no socket; the time from sending the
request to having the whole body), ``--requests`` requests each of ``/console/batches`` and
``/console/batches/{id}`` with a signed-in session: median, p90 and max. ``--report`` also times one
``/console/batches/{id}/report`` (the framed report: it reads both files and bootstraps, 1000 rounds), with the CPU
seconds it took, then ``--requests`` more (the page kept, the batch and its labels unchanged).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.report_lines import pair_input, pair_output  # noqa: E402
from tests.support.services import FAKE_MODELS, services_for  # noqa: E402

from jurist.api.app import create_app  # noqa: E402
from jurist.composition import Services  # noqa: E402
from jurist.ids import new_id  # noqa: E402
from jurist.protocol.batches import BatchStatus  # noqa: E402
from jurist.store.records import BatchRecord, FileRecord  # noqa: E402

KEY = "sk-bench-console-0123456789"
NAMES = ("alpha", "beta", "gamma")


async def _chunks(lines: list[bytes]) -> AsyncIterator[bytes]:
    for start in range(0, len(lines), 1000):
        yield b"".join(lines[start : start + 1000])


async def _output_file(services: Services, tenant: str, lines: list[bytes], now: int) -> str:
    """The batch's output file, as the runner stores it (purpose ``batch_output``)."""
    file_id = new_id("file-batch_output-", 12)
    writer = services.files.blobs.writer(file_id)
    async for chunk in _chunks(lines):
        await writer.write(chunk)
    size = await writer.commit()
    storage = services.files.blobs.kind
    record = FileRecord(file_id, tenant, "batch_output", "output.jsonl", size, now, None, storage)
    await services.files.store.insert(record)
    return file_id


async def _batch(services: Services, tenant: str, count: int) -> str:
    """A completed ``count``-line batch (input, output and record); its id."""
    inputs, outputs = [], []
    for i in range(count):
        cid = f"line-{i}"
        a, b = NAMES[i % 3], NAMES[(i + 1) % 3]
        line = pair_input(cid, "x" * (20 + i % 40), "y" * (20 + i % 30), a, b)
        inputs.append(orjson.dumps(line) + b"\n")
        winner = ("response_1", "response_2", "tie")[i % 3 if i % 7 else 0]
        outputs.append(orjson.dumps(pair_output(cid, winner)) + b"\n")
    uploaded = await services.files.upload(tenant, f"batch-{count}.jsonl", "batch", _chunks(inputs))
    now = int(time.time())
    output = await _output_file(services, tenant, outputs, now)
    record = BatchRecord(
        id=new_id("batch_", 12), tenant=tenant, endpoint="/v1/chat/completions",
        input_file_id=uploaded.id, completion_window="24h", status=BatchStatus.COMPLETED,
        created_at=now - 60, expires_at=now + 86400, model="pai-judge", output_file_id=output,
        in_progress_at=now - 59, finalizing_at=now - 2, completed_at=now - 1, total=count,
        completed=count, input_tokens=300 * count, output_tokens=80 * count,
    )  # fmt: skip
    await services.batches.store.insert(record)
    return record.id


async def _time(client: httpx.AsyncClient, url: str, n: int, holds: str) -> list[float]:
    """``n`` requests' times (ms); each must be the page (200, holding ``holds``)."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        resp = await client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert resp.status_code == 200 and holds in resp.text, (url, resp.status_code)
    return times


def _row(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
    return f"| {name} | {len(times)} | {statistics.median(times):.1f} | {p90:.1f} | {max(times):.1f} |"


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        services = services_for(Path(tmp), models=FAKE_MODELS, api_keys=[KEY], max_file_bytes=1 << 30)
        await services.start(run_worker=False)
        try:
            tenant = (await services.auth.authenticate(f"Bearer {KEY}", None)).id
            started = time.perf_counter()
            for _ in range(args.batches):
                await _batch(services, tenant, 3)
            big = await _batch(services, tenant, args.lines)  # the newest: first in the list
            print(f"wrote a {args.lines}-line batch + {args.batches} small ones in "
                  f"{time.perf_counter() - started:.1f} s")  # fmt: skip
            token, _ = await services.console_sessions.sign_in(KEY)
            transport = httpx.ASGITransport(app=create_app(services))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", cookies={"jurist_session": token}
            ) as client:
                done = f'value="{args.lines}"'  # the page's progress bar, full
                listing, page = "/console/batches", f"/console/batches/{big}"
                await _time(client, listing, 3, "Older batches")  # warm-up: templates compiled
                await _time(client, page, 3, done)
                print("| page | requests | median ms | p90 ms | max ms |\n|---|---:|---:|---:|---:|")
                print(
                    _row(
                        "`/console/batches` (20 of the list)",
                        await _time(client, listing, args.requests, done),
                    )
                )
                print(_row(f"`/console/batches/{{id}}` ({args.lines:,} lines)",
                           await _time(client, page, args.requests, done)))  # fmt: skip
                if args.report:
                    cpu = time.process_time()
                    report = f"{page}/report"
                    made = await _time(client, report, 1, "report-chart")
                    print(_row("`/console/batches/{id}/report` (framed): made", made))
                    print(f"(made: {time.process_time() - cpu:.1f} s of this process's CPU)")
                    kept = await _time(client, report, args.requests, "report-chart")
                    print(_row("`/console/batches/{id}/report`: kept, unchanged", kept))
        finally:
            await services.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--report", action="store_true")
    asyncio.run(main(parser.parse_args()))
