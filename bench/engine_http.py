#!/usr/bin/env python3
"""The embedded engine through ``jurist serve`` vs called directly (issues 12, 17): items/s of pairwise
verdicts.

    PYTHONPATH=src .venv/bin/python bench/engine_http.py [--items 32] [--clients 8] [--reasons none,full]
        [--rounds 2] [--data-dir DIR] [--sides direct,inline,http,http-noextra]

Both sides judge the same ``--items`` PandaLM pairs (bench/reasons.py's shortest) with ``pai-judge``'s
configuration as ``jurist serve`` builds it (the embedded engine with its default ``parallel``, threads,
reason cap, log-probabilities):

- direct: ``LlamaCppBackend.generate`` on every item at once in a fresh child process (after a warm-up);
- http: ``jurist serve`` on a free port (``JURIST_CACHE=false``), ``--clients`` threads each sending its
  share of the items one after another as judge items (``mode: pairwise``) with the official SDK; the
  model in its own process (the default since issue 17);
- inline: the same with ``isolated = false``: the model in the server's process (before issue 17);
- http-noextra: ``http`` with ``extra_buffer_types = false`` (what the AMX guard does on an AMX CPU).

items/s = items / wall time; the sides alternate for ``--rounds`` rounds (fresh processes each), so
drift on the shared machine hits all; the ratio is each side / the first side per round.
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
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reasons import shortest_items

ROOT = Path(__file__).resolve().parents[1]


async def direct(n: int, reasons_list: list[str], data_dir: Path) -> dict[str, Any]:
    from jurist.backends.base import GenerationRequest
    from jurist.backends.llama_cpp import LlamaCppBackend, bundled_model_path
    from jurist.backends.registry import configured_models
    from jurist.judging.prompts import build_task
    from jurist.protocol.items import PairwiseItem
    from jurist.settings import LlamaCppModelConfig, Settings

    config = configured_models(Settings(data_dir=data_dir)).models["pai-judge"]
    assert isinstance(config, LlamaCppModelConfig)
    backend = LlamaCppBackend(config, bundled_model_path(data_dir))
    out: dict[str, Any] = {"parallel": config.parallel, "concurrency": config.concurrency}
    try:
        await backend.start()
        warm = build_task(PairwiseItem(question="1+1?", answer1="2", answer2="3", criteria=["Accuracy"]))
        await backend.generate(GenerationRequest(messages=warm.messages, json_schema=warm.schema))
        for reasons in reasons_list:
            requests = [
                GenerationRequest(
                    messages=(task := build_task(item, config.reason_limit, reasons)).messages,  # type: ignore[arg-type]
                    json_schema=task.schema,
                    temperature=config.judging.temperature,
                    logprobs=config.wants_logprobs,
                    top_logprobs=config.judging.top_logprobs,
                )
                for item in shortest_items(n)
            ]
            t0 = time.perf_counter()
            await asyncio.gather(*(backend.generate(r) for r in requests))
            out[reasons] = n / (time.perf_counter() - t0)
    finally:
        await backend.aclose()
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


SIDE_OPTIONS = {"http": "", "inline": "isolated = false\n", "http-noextra": "extra_buffer_types = false\n"}


def _config(side: str, data_dir: Path) -> Path:
    """pai-judge as ``jurist serve`` builds it by default, with the side's options."""
    path = data_dir / f"bench-{side}.toml"
    path.write_text(
        '[models.pai-judge]\nbackend = "llama_cpp"\n'
        + SIDE_OPTIONS[side]
        + "[models.pai-judge.judging]\nreason_max_chars = 120\n"
    )
    return path


def over_http(n: int, clients: int, reasons_list: list[str], data_dir: Path, side: str) -> dict[str, Any]:
    import openai

    port = _free_port()
    env = {
        **os.environ,
        "JURIST_DATA_DIR": str(data_dir),
        "JURIST_API_KEYS": "sk-bench",
        "JURIST_CACHE": "false",
        "JURIST_LOG_LEVEL": "warning",
        "JURIST_CONFIG": str(_config(side, data_dir)),
    }
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/jurist"), "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL
    )
    out: dict[str, Any] = {}
    try:
        deadline = time.time() + 300
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("jurist serve did not become ready") from None
                time.sleep(0.3)
        sdk = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-bench", timeout=900)
        items = shortest_items(n)

        def judge(item: Any, reasons: str) -> None:
            body = {
                "question": item.question,
                "answer1": item.answer1,
                "answer2": item.answer2,
                "reasons": reasons,
            }
            content = [{"mode": "pairwise", "type": "json", "json": body}]
            done = sdk.chat.completions.create(
                model="pai-judge", messages=[{"role": "user", "content": content}]
            )  # type: ignore[misc,list-item]
            assert done.choices[0].message.content

        judge(shortest_items(1)[0], "none")  # warm-up
        for reasons in reasons_list:

            def client(k: int, reasons: str = reasons) -> None:
                for item in items[k::clients]:
                    judge(item, reasons)

            t0, cpu0 = time.perf_counter(), cpu_seconds(server.pid)
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(client, range(clients)))
            out[reasons] = n / (time.perf_counter() - t0)
            out[f"{reasons}_cpu_s_per_item"] = (cpu_seconds(server.pid) - cpu0) / n
        out["memory_mb"] = memory(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return out


def _status_kb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def _family(pid: int) -> list[int]:
    return [pid, *(int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server and its children (the model process) so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in _family(pid):
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def memory(pid: int) -> dict[str, dict[str, float]]:
    """RSS of the server and of each child (the model process): anonymous (its own) and file-backed (the
    GGUF's mapped pages, shared through the page cache), in MB."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    out = {}
    for name, p in [("server", pid), *((f"child {c}", int(c)) for c in children)]:
        kb = _status_kb(p)
        out[name] = {k: round(v / 1024, 1) for k, v in kb.items()}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=32)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--reasons", default="none,full")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--sides", default="direct,http")
    p.add_argument("--child", choices=["direct", *SIDE_OPTIONS], default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    data_dir = Path(a.data_dir or tempfile.mkdtemp(prefix="jurist-bench-http-"))
    reasons_list = a.reasons.split(",")
    if a.child == "direct":
        print(json.dumps(asyncio.run(direct(a.items, reasons_list, data_dir))), flush=True)
        return
    if a.child is not None:
        print(json.dumps(over_http(a.items, a.clients, reasons_list, data_dir, a.child)), flush=True)
        return
    sides = a.sides.split(",")
    for r in range(a.rounds):
        row = {}
        for side in sides:
            cmd = [
                sys.executable,
                __file__,
                "--child",
                side,
                "--items",
                str(a.items),
                "--clients",
                str(a.clients),
            ]
            cmd += ["--reasons", a.reasons, "--data-dir", str(data_dir)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{side} failed:\n{done.stderr[-3000:]}")
            row[side] = json.loads(done.stdout.strip().splitlines()[-1])
        first = sides[0]
        cells = [
            f"{reasons}: "
            + ", ".join(
                f"{side} {row[side][reasons]:.3f}"
                + (f" ({row[side][reasons] / row[first][reasons]:.3f}x)" if side != first else "")
                for side in sides
            )
            + " items/s"
            for reasons in reasons_list
        ]
        print(f"round {r + 1} ({a.clients} clients): " + "; ".join(cells), flush=True)
        cpu = [
            f"{side} {reasons} {row[side][f'{reasons}_cpu_s_per_item']:.3f}"
            for side in sides
            for reasons in reasons_list
            if f"{reasons}_cpu_s_per_item" in row[side]
        ]
        if cpu:
            print("  CPU s per item (server + model process): " + ", ".join(cpu), flush=True)
        for side in sides:
            if "memory_mb" in row[side]:
                print(f"  {side} memory (MB): {json.dumps(row[side]['memory_mb'])}", flush=True)


if __name__ == "__main__":
    main()
