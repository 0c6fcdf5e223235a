#!/usr/bin/env python3
"""Judge cache: the same batch run twice; the repeat is served from the cache.

    .venv/bin/python bench/cache_repeat.py [--lines 5000] [--delay-ms 50] [--concurrency 128]

Wall time from create to ``completed`` (client clock) of the first and of the identical second batch,
Jurist on SQLite against the stub upstream (stub on CPU 0, Jurist on CPU 1). Target: repeat ≤ 5%.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.batch_throughput import KEY, _create_batch, _lines, _port, _proc, _upload, _wait, wait_healthy  # noqa: E402

METRICS_TOKEN = "bench-metrics-token"  # /metrics answers only a configured Bearer token


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lines", type=int, default=5000)
    p.add_argument("--delay-ms", type=float, default=50)
    p.add_argument("--concurrency", type=int, default=128)
    args = p.parse_args()
    stub_port, port = _port(), _port()
    work = Path(tempfile.mkdtemp(prefix="jurist-cache-bench-"))
    (work / "jurist.toml").write_text(
        f'[models.pai-judge]\nbackend = "openai"\nbase_url = "http://127.0.0.1:{stub_port}/v1"\n'
        f"max_concurrency = {args.concurrency}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JURIST_")}
    env.update(JURIST_CONFIG=str(work / "jurist.toml"), JURIST_DATA_DIR=str(work / "data"), JURIST_API_KEYS=KEY,
               JURIST_LOG_LEVEL="warning", JURIST_METRICS_TOKEN=METRICS_TOKEN)  # fmt: skip
    base = f"http://127.0.0.1:{port}/v1"
    with ExitStack() as stack:
        stack.enter_context(_proc([sys.executable, str(ROOT / "tests/support/stub_upstream.py"), "--port", str(stub_port),
                                   "--delay-ms", str(args.delay_ms)], cpu="0"))  # fmt: skip
        stack.enter_context(
            _proc([str(ROOT / ".venv/bin/jurist"), "serve", "--port", str(port)], env, cpu="1")
        )
        wait_healthy(port)
        file_id = _upload(base, _lines(args.lines))
        seconds = []
        for _ in range(2):
            t0 = time.perf_counter()
            created = _create_batch(base, file_id)
            _wait(base, created["id"], {"completed"})
            seconds.append(time.perf_counter() - t0)
        scrape = urllib.request.Request(
            f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        metrics = urllib.request.urlopen(scrape).read().decode()
    hits = next(
        (
            line.split()[-1]
            for line in metrics.splitlines()
            if line.startswith('jurist_judge_cache_total{result="hit"}')
        ),
        "0",
    )
    print(json.dumps({"lines": args.lines, "first_s": round(seconds[0], 2), "repeat_s": round(seconds[1], 2),
                      "repeat_share": round(seconds[1] / seconds[0], 3), "cache_hits": float(hits)}))  # fmt: skip


if __name__ == "__main__":
    main()
