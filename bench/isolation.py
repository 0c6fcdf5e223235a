#!/usr/bin/env python3
"""Can one tenant slow another (issue 18)? Tenant B's p99 latency (GET /v1/files, GET /v1/models, a chat
completion) while tenant A posts 100k labels, ingests a 50,000-line batch, or refits a calibration, against
B's p99 with A idle. Goal: ≤ 250 ms added on SQLite, ≤ 50 ms on PostgreSQL.

    PYTHONPATH=src .venv/bin/python bench/isolation.py [--database-url postgresql://…] [--lines 20000]
        [--annotators 5] [--ingest 50000]

``jurist serve`` runs in its own process on SQLite in a temp dir (or ``--database-url``) with the judge
cache off; ``pai-judge`` is the test suite's judge stub (tests/support/judge_stub.py), so no model time is
measured. A's batch of ``--lines`` pairwise lines is judged first; its labels are ``--lines`` ×
``--annotators`` (100k by default), posted ``--per-post`` at a time (the API's cap per request).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
KA, KB = "sk-tenant-a-0123456789", "sk-tenant-b-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def line(i: int) -> str:
    item = {"question": f"Question {i}?", "answer1": "A longer, better answer." if i % 2 else "Short.",
            "answer2": "Short." if i % 2 else "A longer, better answer."}  # fmt: skip
    body = {"model": "pai-judge", "messages": [{"role": "user", "content": [{"mode": "pairwise", "type": "json", "json": item}]}]}  # fmt: skip
    return json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": body})


class Server:
    def __init__(self, base: str) -> None:
        self.base = base

    async def upload(self, http: aiohttp.ClientSession, key: str, text: str) -> str:
        form = aiohttp.FormData()
        form.add_field("purpose", "batch")
        form.add_field("file", text.encode(), filename="input.jsonl")
        async with http.post(f"{self.base}/files", data=form, headers=auth(key)) as r:
            found = await r.json()
            assert r.status == 200, found
            return str(found["id"])

    async def batch(self, http: aiohttp.ClientSession, key: str, file_id: str) -> str:
        body = {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
        async with http.post(f"{self.base}/batches", json=body, headers=auth(key)) as r:
            return str((await r.json())["id"])

    async def wait(self, http: aiohttp.ClientSession, key: str, batch_id: str, statuses: set[str]) -> Any:
        while True:
            async with http.get(f"{self.base}/batches/{batch_id}", headers=auth(key)) as r:
                found = await r.json()
            if found["status"] in statuses:
                return found
            await asyncio.sleep(0.5)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def tenant_b(server: Server, http: aiohttp.ClientSession, stop: asyncio.Event) -> list[float]:
    """B's requests one after another (files, models, a chat completion) until ``stop``; their latencies."""
    chat = {"model": "pai-judge", "messages": [{"role": "user", "content": "Say hi."}]}
    times: list[float] = []
    while not stop.is_set():
        for method, path, body in (
            ("GET", "/files", None),
            ("GET", "/models", None),
            ("POST", "/chat/completions", chat),
        ):
            began = time.perf_counter()
            async with http.request(method, server.base + path, json=body, headers=auth(KB)) as r:
                await r.read()
                assert r.status == 200, (path, r.status)
            times.append(time.perf_counter() - began)
    return times


def p99(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


async def measured(server: Server, http: aiohttp.ClientSession, work: Any) -> tuple[float, float, int]:
    """B's p99 (ms) while ``work`` runs, the work's seconds, and B's request count."""
    stop = asyncio.Event()
    b = asyncio.create_task(tenant_b(server, http, stop))
    began = time.perf_counter()
    await work
    took = time.perf_counter() - began
    stop.set()
    times = await b
    return p99(times), took, len(times)


async def idle(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def run(a: argparse.Namespace, server: Server) -> None:
    timeout = aiohttp.ClientTimeout(total=3600)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        print(f"judging A's batch of {a.lines} lines ...", flush=True)
        batch_id = await server.batch(
            http, KA, await server.upload(http, KA, "\n".join(line(i) for i in range(a.lines)) + "\n")
        )
        await server.wait(http, KA, batch_id, {"completed"})
        base, _, n = await measured(server, http, idle(10))
        print(f"A idle: B p99 {base:.1f} ms ({n} requests)", flush=True)

        async def post_labels() -> None:
            labels = [{"custom_id": f"r{i}", "label": "1" if i % 2 else "2", "annotator": f"ann{k}"}
                      for k in range(a.annotators) for i in range(a.lines)]  # fmt: skip
            for start in range(0, len(labels), a.per_post):
                url = f"{server.base}/batches/{batch_id}/labels"
                async with http.post(url, json=labels[start : start + a.per_post], headers=auth(KA)) as r:
                    assert r.status == 200, await r.text()

        async def ingest() -> None:
            text = "\n".join(line(i) for i in range(a.ingest)) + "\n"
            big = await server.batch(http, KA, await server.upload(http, KA, text))
            await server.wait(http, KA, big, {"in_progress", "completed", "failed"})
            async with http.post(f"{server.base}/batches/{big}/cancel", headers=auth(KA)) as r:
                await r.read()

        async def refit() -> None:
            body = {"model": "pai-judge", "batches": [batch_id]}
            async with http.post(f"{server.base}/calibrations", json=body, headers=auth(KA)) as r:
                assert r.status == 200, await r.text()

        labels_n = a.lines * a.annotators
        for name, work in ((f"posts {labels_n} labels", post_labels()), (f"ingests {a.ingest} lines", ingest()),
                           ("refits a calibration", refit())):  # fmt: skip
            found, took, n = await measured(server, http, work)
            print(
                f"A {name} ({took:.1f} s): B p99 {found:.1f} ms, +{found - base:.1f} ms ({n} requests)",
                flush=True,
            )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=None)
    p.add_argument("--lines", type=int, default=20_000)
    p.add_argument("--annotators", type=int, default=5)
    p.add_argument("--per-post", type=int, default=10_000)
    p.add_argument("--ingest", type=int, default=50_000)
    a = p.parse_args()
    data = Path(tempfile.mkdtemp(prefix="jurist-isolation-"))
    stub_port, port = free_port(), free_port()
    stub = subprocess.Popen(
        [sys.executable, "-P", str(ROOT / "tests/support/judge_stub.py"), "--port", str(stub_port)]
    )
    config = data / "jurist.toml"
    config.write_text(
        f'[models.pai-judge]\nbackend = "openai"\nbase_url = "http://127.0.0.1:{stub_port}/v1"\n'
    )
    env = {
        **os.environ,
        "JURIST_DATA_DIR": str(data),
        "JURIST_API_KEYS": f"{KA},{KB}",
        "JURIST_CACHE": "false",
        "JURIST_CONFIG": str(config),
        "JURIST_LOG_LEVEL": "warning",
        "JURIST_MAX_FILE_BYTES": str(256 << 20),
    }  # fmt: skip  (a 50,000-line input is ~15 MB)
    if a.database_url:
        env["JURIST_DATABASE_URL"] = a.database_url
    serve = subprocess.Popen([str(ROOT / ".venv/bin/jurist"), "serve", "--port", str(port)], env=env)
    try:
        deadline = time.time() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if time.time() > deadline or serve.poll() is not None:
                    raise SystemExit("jurist serve did not start") from None
                time.sleep(0.3)
        print(f"database: {a.database_url or 'SQLite'}", flush=True)
        asyncio.run(run(a, Server(f"http://127.0.0.1:{port}/v1")))
    finally:
        serve.terminate()
        stub.terminate()
        serve.wait(timeout=60)
        stub.wait(timeout=10)


if __name__ == "__main__":
    main()
