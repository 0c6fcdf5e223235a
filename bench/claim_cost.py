#!/usr/bin/env python3
"""Fair claims (issue 9): what a claim costs with 1 and with 50 queued batches, and how long a small
batch takes behind another tenant's large one, on SQLite and on PostgreSQL.

    PYTHONPATH=src .venv/bin/python bench/claim_cost.py [--lines 50000] [--claims 300]
        [--batches 1,50,200] [--databases sqlite,postgresql] [--database-url postgresql://…]
        [--big 20000] [--small 5] [--delay-ms 20] [--concurrency 32] [--repeat 3] [--skip-latency]

Claim cost: the store alone (no worker). ``--lines`` queued lines, as one batch of one tenant, or as
``--batches`` batches (default 1, 50 and 200) of a fifth as many tenants (5 batches each; weights 1
and 2); then ``--claims`` claims of 32 lines, timed one by one (ms per claim; the queue stays large). Also the time to start the batches (their lines get their
tags, the tenant's other batches are re-spaced), the one cost fairness adds outside claims.

Latency: the services with their in-process worker, a fake backend answering after ``--delay-ms``
(``--concurrency`` lines at once). A ``--small``-line batch of tenant B alone, then behind a
``--big``-line batch of tenant A that is already running: time from create to completed, median of
``--repeat``. PostgreSQL: a throwaway server (tests/support/postgres.py) unless ``--database-url``
(its public schema is dropped!).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.postgres import reset_postgres, running_postgres  # noqa: E402
from tests.support.services import FAKE_MODELS  # noqa: E402
from tests.support.slow_backend import SlowBackend  # noqa: E402
from tests.support.verdicts import single_verdict_json  # noqa: E402

from jurist.composition import Stores, build_services  # noqa: E402
from jurist.protocol.batches import BatchStatus  # noqa: E402
from jurist.settings import Settings  # noqa: E402
from jurist.store.database import Database, PostgresDatabase, SqliteDatabase  # noqa: E402
from jurist.store.migrations import upgrade  # noqa: E402
from jurist.store.records import BatchRecord, RequestLine  # noqa: E402

NOW = 1_800_000_000
CHUNK = 1000  # lines per add_lines, as the runner queues them


# ------------------------------------------------------------------ claim cost
async def _open(kind: str, url: str | None, work: Path, name: str) -> Database:
    db: Database
    if kind == "sqlite":
        db = SqliteDatabase(work / f"{name}.db")
    else:
        assert url is not None
        reset_postgres(url)
        db = PostgresDatabase(url)
    await db.open()
    await upgrade(db)
    return db


async def _fill(stores: Stores, db: Database, batches: int, tenants: int, lines: int) -> list[float]:
    """``batches`` batches of ``lines // batches`` lines, round-robin over ``tenants`` (even ones weigh
    2); returns each start's seconds."""
    async with db.transaction() as tx:
        for t in range(tenants):
            await tx.execute(
                "INSERT INTO tenants (id, weight, created_at, updated_at) VALUES (:id, :w, 0, 0)",
                {"id": f"t{t}", "w": 2.0 if t % 2 == 0 else 1.0},
            )
    per = lines // batches
    starts = []
    for i in range(batches):
        record = BatchRecord(f"batch_{i:04d}", f"t{i % tenants}", "/v1/chat/completions", "file-x", "24h",
                             BatchStatus.VALIDATING, NOW, NOW + 86400)  # fmt: skip
        await stores.batches.insert(record)
        task = await stores.tasks.claim("bench", NOW, 600)
        assert task is not None and task.id == record.id
        rows = [RequestLine(k, f"c{k}", "m", '{"model": "m"}') for k in range(1, per + 1)]
        for at in range(0, per, CHUNK):
            await stores.tasks.add_lines(task.id, rows[at : at + CHUNK])
        t0 = time.perf_counter()
        assert await stores.tasks.start(task.id, "bench", per, "m", NOW)
        starts.append(time.perf_counter() - t0)
    return starts


async def claim_cost(kind: str, url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"database": kind}
    work = Path(tempfile.mkdtemp(prefix="jurist-claim-bench-"))
    for batches in args.batches:
        tenants = max(1, batches // 5)
        db = await _open(kind, url, work, f"q{batches}")
        try:
            stores = Stores.over(db)
            starts = await _fill(stores, db, batches, tenants, args.lines)
            if kind == "postgresql":
                async with db.transaction() as tx:
                    await tx.execute("ANALYZE")
            times = []
            for n in range(args.claims):
                t0 = time.perf_counter()
                got = await stores.queue.claim(f"w{n % 4}", "m", 32, NOW, 600)
                times.append(time.perf_counter() - t0)
                assert len(got) == 32
            out[f"{batches}_batches"] = {
                "tenants": tenants,
                "lines": args.lines,
                "claim_ms_mean": round(1000 * statistics.mean(times), 3),
                "claim_ms_p50": round(1000 * statistics.median(times), 3),
                "claim_ms_p95": round(1000 * statistics.quantiles(times, n=20)[18], 3),
                "start_ms_max": round(1000 * max(starts), 1),
            }
        finally:
            await db.close()
    one = out[f"{args.batches[0]}_batches"]["claim_ms_p50"]
    for batches in args.batches[1:]:
        out[f"p50_ratio_{batches}_to_{args.batches[0]}"] = round(
            out[f"{batches}_batches"]["claim_ms_p50"] / one, 2
        )
    return out


# --------------------------------------------------------------------- latency
def _lines(n: int, tag: str) -> bytes:
    import json

    return b"".join(
        json.dumps({"custom_id": f"{tag}{i}", "body": {"model": "pai-judge", "messages": [
            {"role": "user", "content": f"Rate answer {tag} {i}."}]}}).encode() + b"\n"
        for i in range(n)
    )  # fmt: skip


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for at in range(0, len(data), 1 << 16):
        yield data[at : at + (1 << 16)]


async def _submit(services: Any, tenant: str, data: bytes) -> str:
    file = await services.files.upload(tenant, "in.jsonl", "batch", _chunks(data))
    body = {"input_file_id": file.id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    batch = await services.batches.create(tenant, body)
    return str(batch.id)


async def _wait(services: Any, tenant: str, batch_id: str, done: Any, limit_s: float = 600) -> Any:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        batch = await services.batches.get(tenant, batch_id)
        if done(batch):
            return batch
        await asyncio.sleep(0.01)
    raise SystemExit(f"batch {batch_id} stuck")


async def _small(services: Any, tag: str, n: int) -> float:
    t0 = time.monotonic()
    batch_id = await _submit(services, "tenant-b", _lines(n, tag))
    await _wait(services, "tenant-b", batch_id, lambda b: b.status == BatchStatus.COMPLETED)
    return time.monotonic() - t0


async def latency(kind: str, url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    if url:
        reset_postgres(url)
    work = Path(tempfile.mkdtemp(prefix="jurist-fair-bench-"))
    slow = SlowBackend(args.delay_ms / 1000, single_verdict_json(3))
    models = {name: {**cfg, "max_concurrency": args.concurrency} for name, cfg in FAKE_MODELS.items()}
    settings = Settings(data_dir=work / "data", database_url=url, models=models, cache=False,
                        api_keys=["sk-bench"], max_batch_lines=max(50_000, args.big))  # fmt: skip
    services = build_services(settings, backends={"pai-judge": slow, "pai-judge-plus": slow})
    await services.start()
    try:
        alone = [await _small(services, f"alone{r}-", args.small) for r in range(args.repeat)]
        big = await _submit(services, "tenant-a", _lines(args.big, "a"))
        started = time.monotonic()
        await _wait(services, "tenant-a", big, lambda b: b.completed >= args.concurrency * 5)
        behind = [await _small(services, f"behind{r}-", args.small) for r in range(args.repeat)]
        a = await services.batches.get("tenant-a", big)
        a_rate = a.completed / (time.monotonic() - started)
        await services.batches.cancel("tenant-a", big)
    finally:
        await services.aclose()
    t_alone, t_behind = statistics.median(alone), statistics.median(behind)
    return {
        "database": kind,
        "small_lines": args.small,
        "big_lines": args.big,
        "alone_s": [round(x, 3) for x in alone],
        "behind_s": [round(x, 3) for x in behind],
        "ratio_behind_to_alone": round(t_behind / t_alone, 2),
        "big_done_when_small_finished": a.completed,
        "big_status_then": str(a.status),
        "big_lines_per_s": round(a_rate, 1),
    }


# ------------------------------------------------------------------------ main
@contextmanager
def _postgres(wanted: bool, url: str | None) -> Iterator[str | None]:
    if not wanted or url:
        yield url
    else:
        with running_postgres() as started:
            yield started


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lines", type=int, default=50_000)
    p.add_argument("--claims", type=int, default=300)
    p.add_argument("--batches", type=lambda v: [int(x) for x in v.split(",")], default=[1, 50, 200])
    p.add_argument("--databases", default="sqlite,postgresql")
    p.add_argument("--database-url", help="an existing PostgreSQL to use (its public schema is dropped)")
    p.add_argument("--big", type=int, default=20_000)
    p.add_argument("--small", type=int, default=5)
    p.add_argument("--delay-ms", type=float, default=20)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--skip-latency", action="store_true")
    args = p.parse_args()
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    results: list[dict[str, Any]] = []
    with _postgres("postgresql" in kinds, args.database_url) as pg_url:
        for kind in kinds:
            url = pg_url if kind == "postgresql" else None
            results.append(asyncio.run(claim_cost(kind, url, args)))
            print(results[-1], flush=True)
            if not args.skip_latency:
                results.append(asyncio.run(latency(kind, url, args)))
                print(results[-1], flush=True)


if __name__ == "__main__":
    main()
