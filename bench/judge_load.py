#!/usr/bin/env python3
"""Closed-loop load on Jurist's judge modes: server CPU per request for custom / single / pairwise.

Usage (Jurist already running against an upstream, e.g. the shared stub):
    python bench/judge_load.py --base-url http://127.0.0.1:8090/v1 --key sk-bench --pid PID \
        --mode single -n 3000 -c 16

Prints one JSON line: mode, count, ok, rps, p50/p99 ms, server CPU ms per request (user+sys of PID and
its children, read from /proc before and after the measured window). Loopback only, bounded in count
and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp

QUESTION = "Why does my HTTP client time out when the server sends a large response?"
ANSWER = "Because the read timeout covers the whole body; raise it or stream the response."
BODIES: dict[str, dict[str, Any]] = {
    "custom": {
        "messages": [
            {"role": "system", "content": "Please act as an impartial judge. Rate 1-5 as [[N]]."},
            {"role": "user", "content": f"Question: {QUESTION}\nResponse: {ANSWER}"},
        ]
    },
    "single": {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"mode": "single", "type": "json", "json": {"question": QUESTION, "answer": ANSWER}}
                ],
            }
        ]
    },
    "pairwise": {
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "mode": "pairwise",
                        "type": "json",
                        "json": {"question": QUESTION, "answer1": ANSWER, "answer2": "Restart the router."},
                    }
                ],
            }
        ]
    },
}


def _cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and its descendants (clock ticks from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            with open(f"/proc/{current}/task/{current}/children") as fh:
                pending += [int(c) for c in fh.read().split()]
        except FileNotFoundError:
            continue
    return total


async def run(args: argparse.Namespace) -> dict[str, Any]:
    host = urlsplit(args.base_url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("loopback targets only")
    url = args.base_url.rstrip("/") + "/chat/completions"
    body = json.dumps({"model": args.model, **BODIES[args.mode]}).encode()
    headers = {"Authorization": f"Bearer {args.key}", "Content-Type": "application/json"}
    latencies: list[float] = []
    ok = errors = 0
    deadline = 0.0

    async def worker(session: aiohttp.ClientSession, count: int) -> None:
        nonlocal ok, errors
        for _ in range(count):
            if time.monotonic() > deadline:
                return
            start = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                if resp.status == 200:
                    ok += 1
                else:
                    errors += 1
            latencies.append((time.perf_counter() - start) * 1000)

    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.monotonic() + args.max_seconds
        await asyncio.gather(
            *(worker(session, max(1, args.warmup // args.concurrency)) for _ in range(args.concurrency))
        )
        latencies.clear()
        ok = errors = 0
        cpu0, t0 = _cpu_seconds(args.pid), time.perf_counter()
        deadline = time.monotonic() + args.max_seconds
        per = args.requests // args.concurrency
        await asyncio.gather(*(worker(session, per) for _ in range(args.concurrency)))
        wall, cpu = time.perf_counter() - t0, _cpu_seconds(args.pid) - cpu0
    count = len(latencies)
    latencies.sort()
    return {
        "mode": args.mode,
        "concurrency": args.concurrency,
        "count": count,
        "ok": ok,
        "errors": errors,
        "rps": round(count / wall, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[min(count - 1, int(count * 0.99))], 2),
        "server_cpu_ms_per_req": round(cpu * 1000 / max(1, count), 3),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-url", default="http://127.0.0.1:8090/v1")
    p.add_argument("--key", default="sk-bench")
    p.add_argument("--model", default="pai-judge")
    p.add_argument("--pid", type=int, required=True, help="Jurist server PID (CPU is read from /proc)")
    p.add_argument("--mode", choices=sorted(BODIES), default="single")
    p.add_argument("-n", "--requests", type=int, default=2000)
    p.add_argument("-c", "--concurrency", type=int, default=16)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--max-seconds", type=float, default=30.0)
    print(json.dumps(asyncio.run(run(p.parse_args()))))


if __name__ == "__main__":
    main()
