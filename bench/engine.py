#!/usr/bin/env python3
"""The batching engine (issue 12): items/s of pairwise verdicts on the bundled model, against today's
sequential decoder.

    PYTHONPATH=src .venv/bin/python bench/engine.py [--items 32] [--parallel 1,2,4,8] [--threads N]
        [--reasons none,full] [--data-dir DIR]

The ``--items`` PandaLM test-set items with the shortest texts (bench/reasons.py's choice), judged pairwise
with the eight default criteria as ``pai-judge`` does (reasons capped at 120 characters, temperature 0,
token log-probabilities asked for, as the service asks them of an embedded judge). Every item is
submitted at once (``asyncio.gather``). ``parallel`` 1 is today's sequential decoder (llama_constrained,
one request at a time); ``parallel`` > 1 is the engine (llama_engine: continuous batching, forced tokens
without logits, cached prompt prefixes), n_ctx 4096 per slot. Each configuration runs in a fresh child
process, after one warm-up verdict: items/s = items / wall time of the gather, peak RSS (VmHWM) and RSS
at the end, the engine's prompt tokens evaluated vs copied from a cached prefix, and the share of
verdicts equal to the sequential decoder's: the same scores and winner (``scores``), and the same JSON
text once spacing is normalised (``text``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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


def scores(text: str) -> Any:
    """A verdict without its prose (reasons, summary)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("reason", "summary")}
        return value

    try:
        return strip(json.loads(text))
    except ValueError:
        return None


async def run(
    parallel: int, n: int, threads: int, reasons_list: list[str], data_dir: Path, n_ctx: int = 4096
) -> dict[str, Any]:
    config = LlamaCppModelConfig(
        parallel=parallel, n_threads=threads, n_ctx=n_ctx, judging=JudgingPolicy(reason_max_chars=120)
    )
    backend = LlamaCppBackend(config, bundled_model_path(data_dir))
    items = shortest_items(n)
    out: dict[str, Any] = {"parallel": parallel, "threads": threads}
    try:
        await backend.start()
        warm = build_task(PairwiseItem(question="1+1?", answer1="2", answer2="3", criteria=["Accuracy"]))
        await backend.generate(GenerationRequest(messages=warm.messages, json_schema=warm.schema))
        for reasons in reasons_list:
            requests = []
            for item in items:
                task = build_task(item, config.reason_limit, reasons)  # type: ignore[arg-type]
                requests.append(
                    GenerationRequest(
                        messages=task.messages,
                        json_schema=task.schema,
                        temperature=0.0,
                        logprobs=True,
                        top_logprobs=config.judging.top_logprobs,
                    )
                )
            before, timed = backend.prompt_stats(), backend.engine_timing()
            t0 = time.perf_counter()
            results = await asyncio.gather(*(backend.generate(r) for r in requests))
            wall = time.perf_counter() - t0
            after = backend.prompt_stats()
            timing = {k: v - timed.get(k, 0.0) for k, v in backend.engine_timing().items()}
            out[reasons] = {
                "items_per_s": n / wall,
                "wall_s": wall,
                "prompt_tokens": sum(r.prompt_tokens for r in results),
                "completion_tokens": sum(r.completion_tokens for r in results),
                "evaluated": after["evaluated"] - before["evaluated"],
                "reused": after["reused"] - before["reused"],
                "texts": [r.text for r in results],
                "timing": timing,
            }
    finally:
        await backend.aclose()
    out["rss_mb"], out["hwm_mb"] = _rss_mb("VmRSS"), _rss_mb("VmHWM")
    return out


def _compact(text: str) -> str:
    try:
        return json.dumps(json.loads(text))
    except ValueError:
        return text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=32)
    p.add_argument("--parallel", default="1,2,4,8")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--reasons", default="none,full")
    p.add_argument("--n-ctx", type=int, default=4096, help="tokens per slot")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    data_dir = Path(a.data_dir or tempfile.mkdtemp(prefix="jurist-bench-engine-"))
    reasons_list = a.reasons.split(",")
    if a.child is not None:
        result = asyncio.run(run(a.child, a.items, a.threads, reasons_list, data_dir, a.n_ctx))
        print(json.dumps(result), flush=True)
        return
    rows = []
    for parallel in [int(x) for x in a.parallel.split(",")]:
        cmd = [sys.executable, __file__, "--child", str(parallel), "--items", str(a.items)]
        cmd += ["--threads", str(a.threads), "--reasons", a.reasons, "--data-dir", str(data_dir)]
        cmd += ["--n-ctx", str(a.n_ctx)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"parallel {parallel} failed:\n{done.stderr[-3000:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps({k: v for k, v in rows[-1].items() if k not in reasons_list}), flush=True)
    base = rows[0]
    print(f"\n{a.items} items, threads {a.threads}; parallel {base['parallel']} is the baseline")
    for row in rows:
        cells = []
        for reasons in reasons_list:
            r, b = row[reasons], base[reasons]
            pairs = list(zip(r["texts"], b["texts"], strict=True))
            same_scores = sum(scores(x) == scores(y) and scores(x) is not None for x, y in pairs)
            same_text = sum(_compact(x) == _compact(y) for x, y in pairs)
            parsed = sum(scores(x) is not None for x in r["texts"])
            ratio = r["items_per_s"] / b["items_per_s"]
            shared = r["reused"] / max(1, r["reused"] + r["evaluated"])
            cells.append(
                f"{reasons}: {r['items_per_s']:.3f} items/s ({ratio:.2f}x, {r['wall_s']:.1f} s), "
                f"{r['completion_tokens']} completion tokens, parsed {parsed}/{len(pairs)}, same scores "
                f"{same_scores}/{len(pairs)}, same text {same_text}/{len(pairs)}, prompt tokens "
                f"{r['prompt_tokens']} (evaluated {r['evaluated']}, reused {r['reused']}: {shared:.0%})"
            )
        print(f"parallel {row['parallel']}: RSS {row['rss_mb']:.0f} MB, peak {row['hwm_mb']:.0f} MB")
        for cell in cells:
            print("   " + cell)
        for reasons in reasons_list:
            t = row[reasons]["timing"]
            if t:
                wall = row[reasons]["wall_s"]
                print(f"   {reasons}: {t['steps']:.0f} steps, {t['tokens'] / t['steps']:.1f} tokens and "
                      f"{t['rows'] / t['steps']:.1f} logits rows per step; llama_decode {t['decode_s']:.1f} s "
                      f"({1000 * t['decode_s'] / t['steps']:.1f} ms/step), choosing {t['choose_s']:.1f} s, "
                      f"other {wall - t['decode_s'] - t['choose_s']:.1f} s of {wall:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
