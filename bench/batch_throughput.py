#!/usr/bin/env python3
"""Batch runner throughput and memory, against the stub upstream, on SQLite and PostgreSQL.

    .venv/bin/python bench/batch_throughput.py [--lines 20000] [--delay-ms 50] [--concurrency 128]
        [--databases sqlite,postgresql] [--memory-lines 1000,50000] [--source OTHER_CHECKOUT/src]

For each database: a Jurist server (pinned to CPU 1, one process, in-process worker) against the stub
(CPU 0; the client too). Throughput: a ``--lines`` batch of custom-template lines; lines/s from
``in_progress_at`` to ``completed_at`` (server clock) and server CPU per line; the ideal is
concurrency ÷ upstream delay. Ingestion: time from create to ``in_progress`` for a ~10 MB input
file, and the server's peak RSS growth from a small to a large batch. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.judge_load import _cpu_seconds  # noqa: E402
from tests.support.live import free_socket  # noqa: E402

KEY = "sk-bench"


def _port() -> int:
    sock = free_socket()
    port = int(sock.getsockname()[1])
    sock.close()
    return port


@contextmanager
def _proc(
    cmd: list[str], env: dict[str, str] | None = None, cpu: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    full = (["taskset", "-c", cpu] if cpu else []) + cmd
    proc = subprocess.Popen(full, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _call(method: str, url: str, body: bytes | None = None, ctype: str = "application/json") -> Any:
    req = urllib.request.Request(
        url, data=body, method=method, headers={"Authorization": f"Bearer {KEY}", "Content-Type": ctype}
    )
    with urllib.request.urlopen(req, timeout=600) as resp:
        return json.loads(resp.read())


def _upload(base: str, data: bytes) -> str:
    boundary = "bench-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="in.jsonl"\r\n\r\n'
    ).encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    return str(_call("POST", base + "/files", body, f"multipart/form-data; boundary={boundary}")["id"])


def _lines(n: int, pad: int = 0) -> bytes:
    text = "x" * pad
    return b"".join(
        json.dumps(
            {
                "custom_id": f"r{i}",
                "body": {
                    "model": "pai-judge",
                    "messages": [{"role": "user", "content": f"Rate answer {i}. {text}"}],
                },
            }
        ).encode()
        + b"\n"
        for i in range(n)
    )


def _create_batch(base: str, file_id: str) -> dict[str, Any]:
    body = {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    return dict(_call("POST", base + "/batches", json.dumps(body).encode()))


def wait_healthy(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("jurist did not start")


def _wait(base: str, batch_id: str, statuses: set[str], timeout: float = 900) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = _call("GET", f"{base}/batches/{batch_id}")
        if batch["status"] in statuses:
            return dict(batch)
        time.sleep(0.02)
    raise SystemExit(f"batch stuck in {batch['status']}")


def _rss_peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_database(kind: str, url: str | None, args: argparse.Namespace, stub_url: str) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="jurist-batch-bench-"))
    (work / "jurist.toml").write_text(
        f'[models.pai-judge]\nbackend = "openai"\nbase_url = "{stub_url}"\nmax_concurrency = {args.concurrency}\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JURIST_")}
    env.update(
        JURIST_CONFIG=str(work / "jurist.toml"),
        JURIST_DATA_DIR=str(work / "data"),
        JURIST_API_KEYS=KEY,
        JURIST_LOG_LEVEL="warning",
        JURIST_MAX_BATCH_LINES="200000",
        JURIST_MAX_FILE_BYTES=str(64 << 20),
        JURIST_CACHE="false",
    )  # fmt: skip  (the cache off: the batches below repeat lines)
    if url:
        env["JURIST_DATABASE_URL"] = url
    if args.source:  # another checkout's code (a before/after comparison), run with this venv
        env["PYTHONPATH"] = str(Path(args.source).resolve())
    out: dict[str, Any] = {"database": kind, "source": args.source or str(ROOT / "src")}
    port = _port()
    base = f"http://127.0.0.1:{port}/v1"
    with _proc([str(ROOT / ".venv/bin/jurist"), "serve", "--port", str(port)], env, cpu="1") as server:
        wait_healthy(port)
        # ingestion: a ~10 MB input file
        big = _lines(args.ingest_lines, pad=180)
        file_id = _upload(base, big)
        t0 = time.perf_counter()
        batch = _create_batch(base, file_id)
        _wait(base, batch["id"], {"in_progress", "failed"})
        out["ingest_file_mb"] = round(len(big) / 1e6, 1)
        out["ingest_lines"] = args.ingest_lines
        out["create_to_in_progress_s"] = round(time.perf_counter() - t0, 2)
        _call("POST", f"{base}/batches/{batch['id']}/cancel")
        _wait(base, batch["id"], {"cancelled"})
        # memory: peak RSS after a small and after a large batch, both run to the end
        peaks = []
        for n in args.memory_lines:
            fid = _upload(base, _lines(n))
            b = _create_batch(base, fid)
            _wait(base, b["id"], {"completed"})
            peaks.append(round(_rss_peak_mb(server.pid)))
        out["peak_rss_mb_after"] = dict(zip(map(str, args.memory_lines), peaks, strict=True))
        # throughput
        fid = _upload(base, _lines(args.lines))
        cpu0 = _cpu_seconds(server.pid)
        b = _create_batch(base, fid)
        done = _wait(base, b["id"], {"completed"})
        cpu = _cpu_seconds(server.pid) - cpu0
        seconds = max(1, done["completed_at"] - done["in_progress_at"])
        out["lines"] = args.lines
        out["completed"] = done["request_counts"]["completed"]
        out["run_seconds"] = seconds
        out["lines_per_s"] = round(args.lines / seconds, 1)
        out["ideal_lines_per_s"] = round(args.concurrency / (args.delay_ms / 1000), 1)
        out["ratio_to_ideal"] = round(out["lines_per_s"] / out["ideal_lines_per_s"], 3)
        out["server_cpu_ms_per_line"] = round(cpu * 1000 / args.lines, 3)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lines", type=int, default=20_000)
    p.add_argument("--delay-ms", type=float, default=50)
    p.add_argument("--concurrency", type=int, default=128)
    p.add_argument("--databases", default="sqlite,postgresql")
    p.add_argument("--ingest-lines", type=int, default=40_000)
    p.add_argument("--memory-lines", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 50_000])
    p.add_argument("--source", help="a src/ directory to run instead of this checkout's (before/after runs)")
    args = p.parse_args()
    stub_port = _port()
    stub_url = f"http://127.0.0.1:{stub_port}/v1"
    with ExitStack() as stack:
        stack.enter_context(_proc([sys.executable, str(ROOT / "tests/support/stub_upstream.py"), "--port", str(stub_port),
                                   "--delay-ms", str(args.delay_ms)], cpu="0"))  # fmt: skip
        time.sleep(0.5)
        for kind in args.databases.split(","):
            url = None
            if kind == "postgresql":
                from tests.support.postgres import running_postgres

                url = stack.enter_context(running_postgres())
            print(json.dumps(run_database(kind, url, args, stub_url)), flush=True)


if __name__ == "__main__":
    main()
