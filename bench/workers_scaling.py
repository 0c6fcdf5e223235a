#!/usr/bin/env python3
"""Several nodes on one PostgreSQL: batch throughput with 1, 2 and 4 ``jurist worker`` processes, and a
small batch's latency behind another tenant's large batch (issue 9).

    .venv/bin/python bench/workers_scaling.py [--workers 1,2,4] [--delay-ms 200] [--concurrency 32]
        [--seconds 12] [--big-lines 20000] [--small-lines 5] [--no-limits] [--source OTHER/src]

Each run starts from an empty database: one ``jurist serve`` (no in-process worker) takes the uploads,
``N`` ``jurist worker`` processes run the lines against the stub upstream (a fixed delay; the upstream
is the bound), ``max_concurrency`` lines at once per worker, so the ideal is N × concurrency ÷ delay.
Fair claims are always on; unless ``--no-limits``, the shared limits are switched on too: the model
has an ``rpm``/``tpm`` (far above the rate, so every call takes from the shared buckets without being
held back) and the tenants have limits. Throughput = lines ÷ client-observed time from ``in_progress``
to ``completed`` (polled every 20 ms), on a batch sized for ``--seconds`` at the ideal rate. The judge
cache is off (``JURIST_CACHE=false``) and every line is unique.

Latency: tenant B's ``--small-lines`` batch, create → ``completed`` as the client sees it, first alone,
then while tenant A's ``--big-lines`` batch runs (submitted first, already ``in_progress``); the ratio
reported is the worst of three behind ÷ the median of three alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.batch_throughput import _port, _proc, wait_healthy  # noqa: E402

KEYS = {"a": "sk-bench-tenant-a", "b": "sk-bench-tenant-b"}


def _call(key: str, method: str, url: str, body: bytes | None = None, ctype: str = "application/json") -> Any:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        url, data=body, method=method, headers={"Authorization": f"Bearer {key}", "Content-Type": ctype}
    )
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"{method} {url} -> {exc.code}: {exc.read().decode()}") from exc


def _lines(n: int, tag: str) -> bytes:
    return b"".join(
        json.dumps(
            {
                "custom_id": f"{tag}{i}",
                "body": {"model": "pai-judge", "messages": [{"role": "user", "content": f"Rate {tag} {i}."}]},
            }
        ).encode()
        + b"\n"
        for i in range(n)
    )


def _submit(base: str, key: str, data: bytes) -> str:
    boundary = "bench-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="in.jsonl"\r\n\r\n'
    ).encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    file_id = _call(key, "POST", base + "/files", body, f"multipart/form-data; boundary={boundary}")["id"]
    spec = {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    return str(_call(key, "POST", base + "/batches", json.dumps(spec).encode())["id"])


def _wait(base: str, key: str, batch_id: str, statuses: set[str], timeout: float = 900) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = _call(key, "GET", f"{base}/batches/{batch_id}")
        if batch["status"] in statuses:
            return dict(batch)
        if batch["status"] in {"failed", "expired", "cancelled"}:
            raise SystemExit(f"batch {batch_id} {batch['status']}: {batch.get('errors')}")
        time.sleep(0.02)
    raise SystemExit(f"batch {batch_id} stuck in {batch['status']}")


def _small_batch_seconds(base: str, n: int, tag: str) -> float:
    t0 = time.perf_counter()
    batch_id = _submit(base, KEYS["b"], _lines(n, tag))
    _wait(base, KEYS["b"], batch_id, {"completed"})
    return time.perf_counter() - t0


def run(workers: int, url: str, stub_url: str, args: argparse.Namespace, latency: bool) -> dict[str, Any]:
    from tests.support.postgres import reset_postgres

    reset_postgres(url)
    work = Path(tempfile.mkdtemp(prefix="jurist-workers-bench-"))
    limits = "" if args.no_limits else "rpm = 10000000\ntpm = 10000000000\n"
    (work / "jurist.toml").write_text(
        f'[models.pai-judge]\nbackend = "openai"\nbase_url = "{stub_url}"\n'
        f"max_concurrency = {args.concurrency}\n{limits}"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JURIST_")}
    env.update(
        JURIST_CONFIG=str(work / "jurist.toml"), JURIST_DATA_DIR=str(work / "data"),
        JURIST_API_KEYS=",".join(KEYS.values()), JURIST_DATABASE_URL=url, JURIST_RUN_WORKER="false",
        JURIST_LOG_LEVEL="warning", JURIST_MAX_BATCH_LINES="200000", JURIST_MAX_FILE_BYTES=str(64 << 20),
        JURIST_CACHE="false", JURIST_WORKER_POLL_SECONDS="0.2",
    )  # fmt: skip
    if args.source:  # another checkout's code (a before/after comparison), run with this venv
        env["PYTHONPATH"] = str(Path(args.source).resolve())
    if not args.no_limits:
        env.update(JURIST_DEFAULT_RPM="100000", JURIST_DEFAULT_MAX_BATCHES="100",
                   JURIST_DEFAULT_MAX_QUEUED_LINES="1000000")  # fmt: skip
    ideal = workers * args.concurrency / (args.delay_ms / 1000)
    out: dict[str, Any] = {"workers": workers, "ideal_lines_per_s": round(ideal, 1)}
    port = _port()
    base = f"http://127.0.0.1:{port}/v1"
    jurist = str(ROOT / ".venv/bin/jurist")
    with ExitStack() as stack:
        stack.enter_context(_proc([jurist, "serve", "--port", str(port)], env))
        wait_healthy(port)
        for _ in range(workers):
            stack.enter_context(_proc([jurist, "worker"], env))
        time.sleep(1.0)  # the workers connect and migrate
        lines = int(ideal * args.seconds)
        batch_id = _submit(base, KEYS["a"], _lines(lines, "t"))
        _wait(base, KEYS["a"], batch_id, {"in_progress", "finalizing", "completed"}, timeout=120)
        t0 = time.perf_counter()
        done = _wait(base, KEYS["a"], batch_id, {"finalizing", "completed"})
        seconds = time.perf_counter() - t0
        assert done["request_counts"]["failed"] == 0, done["request_counts"]
        out.update(lines=lines, seconds=round(seconds, 2), lines_per_s=round(lines / seconds, 1))
        out["ratio_to_ideal"] = round(out["lines_per_s"] / ideal, 3)
        if latency:
            alone = [_small_batch_seconds(base, args.small_lines, f"alone{i}-") for i in range(3)]
            big = _submit(base, KEYS["a"], _lines(args.big_lines, "big"))
            _wait(base, KEYS["a"], big, {"in_progress"}, timeout=120)
            time.sleep(1.0)  # the big batch is running on every worker
            behind = [_small_batch_seconds(base, args.small_lines, f"behind{i}-") for i in range(3)]
            still = _call(KEYS["a"], "GET", f"{base}/batches/{big}")
            out["small_batch_alone_s"] = [round(x, 2) for x in alone]
            out["small_batch_behind_big_s"] = [round(x, 2) for x in behind]
            out["big_batch_done_when_small_finished"] = still["request_counts"]["completed"]
            out["latency_ratio_worst"] = round(max(behind) / sorted(alone)[1], 2)
            if still["status"] == "in_progress":
                _call(KEYS["a"], "POST", f"{base}/batches/{big}/cancel")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--delay-ms", type=float, default=200)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--seconds", type=float, default=12)
    p.add_argument("--big-lines", type=int, default=20_000)
    p.add_argument("--small-lines", type=int, default=5)
    p.add_argument("--latency-at", type=int, default=2, help="measure the small batch's latency at N workers")
    p.add_argument("--no-limits", action="store_true")
    p.add_argument("--source", help="a src/ directory to run instead of this checkout's (before/after runs)")
    args = p.parse_args()
    stub_port = _port()
    stub_url = f"http://127.0.0.1:{stub_port}/v1"
    with ExitStack() as stack:
        stub = [sys.executable, str(ROOT / "tests/support/stub_upstream.py"), "--port", str(stub_port),
                "--delay-ms", str(args.delay_ms)]  # fmt: skip
        stack.enter_context(_proc(stub))
        from tests.support.postgres import running_postgres

        url = stack.enter_context(running_postgres())
        time.sleep(0.5)
        for n in [int(x) for x in args.workers.split(",")]:
            print(json.dumps(run(n, url, stub_url, args, latency=n == args.latency_at)), flush=True)


if __name__ == "__main__":
    main()
