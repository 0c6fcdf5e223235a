#!/usr/bin/env python3
"""How long the embedded model is down after a crash (issue 17): the model process is killed with SIGSEGV
while it answers, and the time from the kill to the next answered request is measured (the 0.5 s first
backoff, a new process importing llama.cpp, loading the GGUF, building the grammar vocabulary and passing
its self-test), ``--crashes`` times per decoder.

    PYTHONPATH=src .venv/bin/python bench/engine_restart.py [--crashes 5] [--data-dir DIR] [--overhead 200]

The crash window is set to 1 s so every crash is a first one (the backoff does not grow, no crash loop).
``--overhead N`` also measures what the process boundary costs a request: N one-token requests one
after another, in this process (``LlamaCppBackend``) and through the model's own process, alternating in
blocks of 10; the medians' difference is the round trip over the socket.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path

from jurist.backends.base import GenerationRequest
from jurist.backends.llama_cpp import bundled_model_path
from jurist.backends.llama_process import EmbeddedModelProcess
from jurist.errors import ModelUnavailable
from jurist.settings import LlamaCppModelConfig

LONG = GenerationRequest(messages=[{"role": "user", "content": "Tell a long story. " * 50}], max_tokens=200)
SHORT = GenerationRequest(messages=[{"role": "user", "content": "Say OK."}], max_tokens=4)


async def measure(path: Path, parallel: int | None, crashes: int) -> dict[str, list[float]]:
    config = LlamaCppModelConfig(parallel=parallel, max_crashes=1000, crash_window_seconds=1.0)
    model = EmbeddedModelProcess(config, path)
    began = time.perf_counter()
    await model.start()
    out: dict[str, list[float]] = {"first start": [time.perf_counter() - began], "down": [], "restart": []}
    try:
        for _ in range(crashes):
            running = asyncio.create_task(model.generate(LONG))
            await asyncio.sleep(0.2)
            pid = model.health().pid
            assert pid is not None
            killed = time.perf_counter()
            os.kill(pid, signal.SIGSEGV)
            try:
                await running
                raise SystemExit("the request outlived its process")
            except ModelUnavailable:
                pass
            await model.generate(SHORT)
            out["down"].append(time.perf_counter() - killed)
            restart = model.health().last_restart_seconds
            assert restart is not None
            out["restart"].append(restart)
            await asyncio.sleep(1.1)  # past the crash window: the next crash is a first one again
    finally:
        await model.aclose()
    return out


async def overhead(path: Path, n: int) -> dict[str, float]:
    from jurist.backends.llama_cpp import LlamaCppBackend

    config = LlamaCppModelConfig()
    inline, isolated = LlamaCppBackend(config, path), EmbeddedModelProcess(config, path)
    one = GenerationRequest(messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
    times: dict[str, list[float]] = {"in this process": [], "own process": []}
    await inline.start()
    await isolated.start()
    try:
        for block in range(2 * n // 10):
            name, backend = [("in this process", inline), ("own process", isolated)][block % 2]
            for _ in range(10):
                began = time.perf_counter()
                await backend.generate(one)  # type: ignore[attr-defined]
                times[name].append(time.perf_counter() - began)
    finally:
        await inline.aclose()
        await isolated.aclose()
    return {k: statistics.median(v) * 1000 for k, v in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--crashes", type=int, default=5)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--overhead", type=int, default=0)
    a = p.parse_args()
    path = bundled_model_path(Path(a.data_dir or tempfile.mkdtemp(prefix="jurist-bench-restart-")))
    for name, parallel in (("engine (parallel unset)", None), ("sequential (parallel = 1)", 1)):
        found = asyncio.run(measure(path, parallel, a.crashes))
        cells = [
            f"{k} min {min(v):.2f} / median {statistics.median(v):.2f} / max {max(v):.2f} s"
            for k, v in found.items()
        ]
        print(f"{name}: " + "; ".join(cells), flush=True)
    if a.overhead:
        medians = asyncio.run(overhead(path, a.overhead))
        cells = [f"{k} {v:.2f} ms" for k, v in medians.items()]
        print(f"one-token request, median of {a.overhead}: " + ", ".join(cells), flush=True)


if __name__ == "__main__":
    main()
