#!/usr/bin/env python3
"""The batching engine (issue 12): items/s of pairwise verdicts on the bundled model at ``parallel`` 1, 2, 4.

    PYTHONPATH=src .venv/bin/python bench/engine.py [--items 8] [--parallel 1,2,4] [--data-dir DIR]

The ``--items`` PandaLM test-set items with the shortest texts (bench/reasons.py's choice), judged pairwise
with the eight default criteria as ``pai-judge`` does (reasons capped at 120 characters, temperature 0),
with ``reasons`` none and full. Every item is submitted at once (``asyncio.gather``); parallel 1 is
today's sequential path (one request at a time), parallel > 1 the engine (llama_engine), with n_ctx 4096
per slot. Each (parallel) runs in a fresh child process: items/s = items / wall time of the gather (after
one warm-up verdict), RSS and peak RSS at the end, and how many verdicts equal parallel 1's text.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reasons import shortest_items

from jurist.backends.base import GenerationRequest
from jurist.backends.llama_cpp import LlamaCppBackend, bundled_model_path
from jurist.judging.prompts import build_task
from jurist.protocol.items import PairwiseItem
from jurist.settings import JudgingPolicy, LlamaCppModelConfig


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


async def run(parallel: int, n: int, data_dir: Path) -> dict[str, Any]:
    config = LlamaCppModelConfig(parallel=parallel, judging=JudgingPolicy(reason_max_chars=120))
    backend = LlamaCppBackend(config, bundled_model_path(data_dir))
    items = shortest_items(n)
    out: dict[str, Any] = {"parallel": parallel}
    try:
        await backend.start()
        warm = build_task(PairwiseItem(question="1+1?", answer1="2", answer2="3", criteria=["Accuracy"]))
        await backend.generate(GenerationRequest(messages=warm.messages, json_schema=warm.schema))
        for reasons in ("none", "full"):
            requests = []
            for item in items:
                task = build_task(item, config.reason_limit, reasons)  # type: ignore[arg-type]
                requests.append(
                    GenerationRequest(messages=task.messages, json_schema=task.schema, temperature=0.0)
                )
            t0 = time.perf_counter()
            results = await asyncio.gather(*(backend.generate(r) for r in requests))
            wall = time.perf_counter() - t0
            out[reasons] = {
                "items_per_s": n / wall,
                "wall_s": wall,
                "completion_tokens": sum(r.completion_tokens for r in results),
                "texts": [r.text for r in results],
            }
    finally:
        await backend.aclose()
    out["rss_mb"], out["hwm_mb"] = _rss_mb("VmRSS"), _rss_mb("VmHWM")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=8)
    p.add_argument("--parallel", default="1,2,4")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    data_dir = Path(a.data_dir or tempfile.mkdtemp(prefix="jurist-bench-engine-"))
    if a.child is not None:
        print(json.dumps(asyncio.run(run(a.child, a.items, data_dir))), flush=True)
        return
    rows = []
    for parallel in [int(x) for x in a.parallel.split(",")]:
        cmd = [sys.executable, __file__, "--child", str(parallel), "--items", str(a.items)]
        done = subprocess.run(
            [*cmd, "--data-dir", str(data_dir)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"parallel {parallel} failed:\n{done.stderr[-3000:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    base = rows[0]
    for row in rows:
        cells = []
        for reasons in ("none", "full"):
            r = row[reasons]
            same = sum(x == y for x, y in zip(r["texts"], base[reasons]["texts"], strict=True))
            ratio = r["items_per_s"] / base[reasons]["items_per_s"]
            cells.append(
                f"{reasons}: {r['items_per_s']:.3f} items/s ({ratio:.2f}x, {r['wall_s']:.1f} s, "
                f"{r['completion_tokens']} tokens, {same}/{len(r['texts'])} same as parallel {base['parallel']})"
            )
        print(f"parallel {row['parallel']}: " + "; ".join(cells) + f"; RSS {row['rss_mb']:.0f} MB, "
              f"peak {row['hwm_mb']:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
