#!/usr/bin/env python3
"""Embedded model: Jurist's generation speed vs llama-cpp-python called directly, and Jurist's memory.

    .venv/bin/python bench/embedded.py [--reps 5] [--max-tokens 128]

Direct: ``Llama(...)`` with the exact settings Jurist uses (bundled Gemma 3 270M, n_ctx 4096, n_batch 128,
n_threads = cores - 1, chat_format gemma, seed 0), ``create_chat_completion`` at temperature 0, in a child
process. Jurist: ``jurist serve`` on the default config, the same messages as a custom template over HTTP.
Both sides generate the same deterministic tokens; tokens/s = completion tokens / wall time of the call
(prompt processing included on both sides). Reps alternate direct / Jurist so drift hits both. Jurist's
resident memory (VmRSS, peak VmHWM) is read from /proc after the model is loaded and after the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

MESSAGES = [
    {
        "role": "user",
        "content": "Write a short story about a lighthouse keeper who finds a message in a bottle.",
    }
]
ROOT = Path(__file__).resolve().parents[1]

DIRECT = r"""
import json, os, sys, time
from llama_cpp import Llama
path, max_tokens, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
threads = max(1, (os.cpu_count() or 2) - 1)
llm = Llama(model_path=path, n_ctx=4096, n_batch=128, n_threads=threads, n_threads_batch=threads, chat_format="gemma",
            logits_all=False, verbose=False, seed=0)
messages = json.loads(sys.argv[4])
for _ in range(reps):
    t0 = time.perf_counter()
    out = llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0)
    dt = time.perf_counter() - t0
    print(json.dumps({"tokens": out["usage"]["completion_tokens"], "seconds": dt}), flush=True)
"""


def _proc_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _direct(path: Path, max_tokens: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", DIRECT, str(path), str(max_tokens), "1", json.dumps(MESSAGES)],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


JUDGE_ITEM = [
    {
        "role": "user",
        "content": [
            {
                "mode": "pairwise",
                "type": "json",
                "json": {"question": "What is 7+5?", "answer1": "12", "answer2": "75"},
            }
        ],
    }
]


def _jurist(
    port: int, max_tokens: int | None, messages: list[dict[str, object]] = MESSAGES
) -> dict[str, float]:
    body = json.dumps(
        {"model": "pai-judge", "messages": messages, "max_tokens": max_tokens, "temperature": 0}
    )
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        data=body.encode(),
        headers={"Authorization": "Bearer sk-bench", "Content-Type": "application/json"},
    )
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as resp:
        data = json.loads(resp.read())
    return {"tokens": data["usage"]["completion_tokens"], "seconds": time.perf_counter() - t0}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--max-tokens", type=int, default=128)
    args = p.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="jurist-bench-"))
    port = _free_port()
    env = {
        **os.environ,
        "JURIST_DATA_DIR": str(data_dir),
        "JURIST_API_KEYS": "sk-bench",
        "JURIST_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/jurist"), "serve", "--port", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("jurist did not start") from None
                time.sleep(0.2)
        rss_loaded = _proc_kb(server.pid, "VmRSS")
        model = data_dir / "models" / "gemma-3-270m-q4_k_m.gguf"
        _jurist(port, 8)  # warm-up on both sides
        _direct(model, 8)
        direct, served = [], []
        for _ in range(args.reps):
            d = _direct(model, args.max_tokens)
            j = _jurist(port, args.max_tokens)
            direct.append(d["tokens"] / d["seconds"])
            served.append(j["tokens"] / j["seconds"])
        tokens = int(j["tokens"])
        rss_after = _proc_kb(server.pid, "VmRSS")
        judge = _jurist(port, None, JUDGE_ITEM)  # a grammar-constrained pairwise verdict, 8 criteria
        rss_judge, peak = _proc_kb(server.pid, "VmRSS"), _proc_kb(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=30)
    d_med, j_med = statistics.median(direct), statistics.median(served)
    print(json.dumps({
        "completion_tokens": tokens, "reps": args.reps,
        "direct_tok_s": [round(x, 1) for x in direct], "jurist_tok_s": [round(x, 1) for x in served],
        "direct_median": round(d_med, 1), "jurist_median": round(j_med, 1), "ratio": round(j_med / d_med, 3),
        "rss_loaded_mb": round(rss_loaded / 1024), "rss_after_mb": round(rss_after / 1024),
        "judge_seconds": round(judge["seconds"], 1), "judge_completion_tokens": int(judge["tokens"]),
        "rss_after_judge_mb": round(rss_judge / 1024),
        "rss_peak_mb": round(peak / 1024),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
