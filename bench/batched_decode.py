#!/usr/bin/env python3
"""Batched decoding on the embedded model: the physical bound before building the engine (issue 12).

    PYTHONPATH=src .venv/bin/python bench/batched_decode.py [--ns 1,2,4,8,16] [--steps 48] [--no-swa-full]

The model is the bundled GGUF in $JURIST_DATA_DIR (assembled there if missing), or --model PATH.

llama-cpp-python's low-level API (``llama_batch_init``, ``llama_decode``, ``llama_get_logits_ith``,
``llama_memory_seq_cp``) on the bundled Gemma 3 270M, each measurement in a fresh child process:

- decode: n sequences (n in ``--ns``), each with its own short prompt, prefilled together, then
  ``--steps`` steps of ONE ``llama_decode`` holding one token per sequence, greedy on each sequence's
  logits. Reports tokens/s summed over the sequences, ms per step split into ``llama_decode`` and
  the Python side (logits read + argmax + batch fill), the transformer body alone (median of steps
  that ask for no logits; the rest of ``llama_decode`` is the output head), and resident memory
  (VmRSS, peak VmHWM).
- head: one sequence, k tokens in one ``llama_decode`` with logits for every token vs for none:
  the output head's (262,144 x 640) cost for k outputs, apart from the transformer body.
- prefix: a 600-token head of a real pairwise judge prompt evaluated once in sequence 0 and copied
  into sequences 1..N-1 (``llama_memory_seq_cp``), against evaluating it N times; then one more
  token in every sequence checks the copies give the same next token as the evaluated prefix.
- bound: memory bandwidth from a numpy copy of a 512 MiB array (bytes read + written per second,
  single thread like the decode), and the GGUF's size as the bytes one decode step must read:
  bandwidth / weight bytes is the ceiling of tokens/s for one sequence.

Context: Jurist's settings (n_batch 512, n_threads = cores - 1), n_ctx 4096 per sequence (n x 4096
in total), one unified KV cache (``kv_unified``) so a copied prefix shares cells instead of copying.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

TOPICS = ["a lighthouse keeper", "a lost violin", "a desert train", "a winter garden",
          "a clockmaker", "a paper boat", "an old map", "a mountain radio", "a night bakery",
          "a river ferry", "a glass orchard", "a snow fox", "a silent bell", "a city beekeeper",
          "a broken compass", "a moon garden"]  # fmt: skip


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class Engine:
    """One model, one context with ``n_seq`` sequences, and one reusable batch."""

    def __init__(self, path: Path, n_seq: int, threads: int, swa_full: bool, n_batch: int = 512) -> None:
        import llama_cpp.llama_cpp as ll

        self.ll = ll
        ll.llama_backend_init()
        mparams = ll.llama_model_default_params()
        from jurist.backends.cpu_features import cpu_flags, extra_buffers

        mparams.use_extra_bufts = extra_buffers(None, cpu_flags()).enabled  # the AMX guard (issue 17)
        self.model = ll.llama_model_load_from_file(str(path).encode(), mparams)
        cparams = ll.llama_context_default_params()
        cparams.n_ctx = 4096 * n_seq
        cparams.n_batch = n_batch
        cparams.n_ubatch = n_batch
        cparams.n_seq_max = n_seq
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        cparams.kv_unified = True
        cparams.swa_full = swa_full
        self.ctx = ll.llama_init_from_model(self.model, cparams)
        self.mem = ll.llama_get_memory(self.ctx)
        self.vocab = ll.llama_model_get_vocab(self.model)
        self.n_vocab = ll.llama_vocab_n_tokens(self.vocab)
        self.n_batch = n_batch
        self.batch = ll.llama_batch_init(n_batch, 0, n_seq)

    def tokenize(self, text: str) -> list[int]:
        raw = text.encode()
        buf = (self.ll.llama_token * (len(raw) + 16))()
        n = self.ll.llama_tokenize(self.vocab, raw, len(raw), buf, len(buf), True, True)
        return list(buf[:n])

    def decode(self, items: list[tuple[int, int, int, bool]]) -> float:
        """One ``llama_decode`` of (token, pos, seq, wants_logits) items; returns its seconds."""
        b = self.batch
        for i, (tok, pos, seq, out) in enumerate(items):
            b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = tok, pos, 1, out
            b.seq_id[i][0] = seq
        b.n_tokens = len(items)
        t0 = time.perf_counter()
        rc = self.ll.llama_decode(self.ctx, b)
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc}")
        return time.perf_counter() - t0

    def prefill(self, tokens: list[int], seq: int, start: int = 0) -> None:
        for s in range(0, len(tokens), self.n_batch):
            chunk = tokens[s : s + self.n_batch]
            last = s + len(chunk) == len(tokens)
            self.decode([(t, start + s + j, seq, last and j == len(chunk) - 1) for j, t in enumerate(chunk)])

    def argmax(self, i: int) -> int:
        ptr = self.ll.llama_get_logits_ith(self.ctx, i)
        return int(np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).argmax())


def _chat(text: str) -> str:
    return f"<start_of_turn>user\n{text}<end_of_turn>\n<start_of_turn>model\n"


def run_decode(path: Path, n: int, steps: int, threads: int, swa_full: bool) -> dict[str, Any]:
    if n > len(TOPICS):
        raise SystemExit(f"at most {len(TOPICS)} sequences")
    rss_before = _rss_kb("VmRSS")
    eng = Engine(path, n, threads, swa_full)
    rss_loaded = _rss_kb("VmRSS")
    prompts = [eng.tokenize(_chat(f"Write a short story about {TOPICS[i]}.")) for i in range(n)]
    # Prefill all prompts in one batch; the last token of each sequence asks for logits.
    items = [(t, p, s, p == len(toks) - 1) for s, toks in enumerate(prompts) for p, t in enumerate(toks)]
    t_prefill = eng.decode(items)
    rows = [i for i, it in enumerate(items) if it[3]]
    nxt = [eng.argmax(r) for r in rows]
    pos = [len(toks) for toks in prompts]
    t_decode = t_python = 0.0
    t_all = time.perf_counter()
    for _ in range(steps):
        t0 = time.perf_counter()
        step = [(nxt[s], pos[s], s, True) for s in range(n)]
        t_python += time.perf_counter() - t0
        t_decode += eng.decode(step)
        t0 = time.perf_counter()
        nxt = [eng.argmax(s) for s in range(n)]
        pos = [p + 1 for p in pos]
        t_python += time.perf_counter() - t0
    wall = time.perf_counter() - t_all
    # Where a step's time goes: the same steps with no logits asked (the transformer body only);
    # the rest of llama_decode is the output head (262,144-token vocabulary x 640).
    body = []
    for _ in range(max(4, steps // 4)):
        body.append(eng.decode([(nxt[s], pos[s], s, False) for s in range(n)]))
        pos = [p + 1 for p in pos]
    body.sort()
    return {
        "n": n,
        "prefill_tokens": len(items),
        "prefill_s": t_prefill,
        "tokens_per_s": n * steps / wall,
        "step_ms": 1000 * wall / steps,
        "decode_ms": 1000 * t_decode / steps,
        "python_ms": 1000 * t_python / steps,
        "body_ms": 1000 * body[len(body) // 2],
        "rss_base_mb": rss_before / 1024,
        "rss_loaded_mb": rss_loaded / 1024,
        "rss_mb": _rss_kb("VmRSS") / 1024,
        "hwm_mb": _rss_kb("VmHWM") / 1024,
    }


def run_head(path: Path, ks: list[int], threads: int, swa_full: bool, reps: int = 7) -> dict[str, Any]:
    """One sequence, k tokens per ``llama_decode`` with logits for all k vs for none: the head's cost."""
    eng = Engine(path, 1, threads, swa_full)
    pos = 0
    rows = {}
    for k in ks:
        med = []
        for want in (True, False):
            ts = []
            for _ in range(reps):
                ts.append(eng.decode([(100, pos + j, 0, want) for j in range(k)]))
                pos += k
            med.append(1000 * sorted(ts)[reps // 2])
        rows[k] = {"with_logits_ms": med[0], "body_ms": med[1], "head_ms": med[0] - med[1]}
    return rows


def _judge_prompt(
    question: str = "Explain why the sky is blue to a ten-year-old, in three sentences.",
) -> str:
    from jurist.judging.prompts import build_task
    from jurist.protocol.items import PairwiseItem

    item = PairwiseItem(
        question=question,
        answer1="Sunlight is made of many colours. Air scatters blue light the most. " * 6,
        answer2="Because the ocean reflects onto the sky, which is a common belief. " * 6,
        criteria=["Accuracy", "Clarity", "Helpfulness"],
    )
    msgs = build_task(item).messages
    return _chat(msgs[0]["content"] + "\n\n" + msgs[1]["content"])


def run_prefix(path: Path, n: int, threads: int, swa_full: bool, prefix_tokens: int) -> dict[str, Any]:
    eng = Engine(path, n, threads, swa_full)
    prompt = eng.tokenize(_judge_prompt())
    prefix = prompt[:prefix_tokens]
    # Today's prompts: how many leading tokens two items of the same (mode, criteria, scene) share.
    other = eng.tokenize(_judge_prompt("Explain why leaves turn red in autumn, in three sentences."))
    shared = next((i for i, (x, y) in enumerate(zip(prompt, other, strict=False)) if x != y), len(prompt))
    probe = eng.tokenize("Response")[-1]
    ll = eng.ll
    eng.prefill(prefix[:8], 0)  # warm-up, then clear
    ll.llama_memory_clear(eng.mem, True)

    t0 = time.perf_counter()
    for s in range(n):
        eng.prefill(prefix, s)
    t_each = time.perf_counter() - t0
    eng.decode([(probe, len(prefix), s, True) for s in range(n)])
    ref = [eng.argmax(s) for s in range(n)]
    ll.llama_memory_clear(eng.mem, True)

    t0 = time.perf_counter()
    eng.prefill(prefix, 0)
    t_once = time.perf_counter() - t0
    t0 = time.perf_counter()
    for s in range(1, n):
        ll.llama_memory_seq_cp(eng.mem, 0, s, -1, -1)
    t_copy = time.perf_counter() - t0
    eng.decode([(probe, len(prefix), s, True) for s in range(n)])
    got = [eng.argmax(s) for s in range(n)]
    return {
        "n": n,
        "prefix_tokens": len(prefix),
        "judge_prompt_tokens": len(prompt),
        "shared_by_two_items_today": shared,
        "evaluate_each_s": t_each,
        "evaluate_once_s": t_once,
        "copy_ms": 1000 * t_copy,
        "same_next_token": got == ref,
        "pos_max": [ll.llama_memory_seq_pos_max(eng.mem, s) for s in range(n)],
    }


def run_bandwidth(path: Path) -> dict[str, Any]:
    src = np.ones(512 * 1024 * 1024 // 8, dtype=np.float64)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t0)
    gbps = 2 * src.nbytes / best / 1e9
    weights = path.stat().st_size
    return {"copy_gb_s": gbps, "weight_bytes": weights, "bound_tokens_s": gbps * 1e9 / weights}


def _child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, timeout=1200
    )
    if out.returncode != 0:
        raise SystemExit(f"child {args[:3]} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _model_path(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    from jurist.backends.llama_cpp import bundled_model_path

    data = os.environ.get("JURIST_DATA_DIR") or tempfile.mkdtemp(prefix="jurist-bench-")
    return bundled_model_path(Path(data))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ns", default="1,2,4,8,16")
    p.add_argument("--head-ks", default="1,2,4,8,16,32")
    p.add_argument("--steps", type=int, default=48)
    p.add_argument("--prefix-tokens", type=int, default=600)
    p.add_argument("--prefix-n", type=int, default=4)
    p.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    p.add_argument("--model", default=None)
    p.add_argument(
        "--no-swa-full", dest="swa_full", action="store_false",
        help="sliding-window layers keep only their window (llama.cpp's default keeps n_ctx cells)",
    )  # fmt: skip
    p.add_argument("--child", nargs="+", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        kind, path, *rest = a.child
        if kind == "decode":
            r = run_decode(Path(path), int(rest[0]), a.steps, a.threads, a.swa_full)
        elif kind == "head":
            r = run_head(Path(path), [int(k) for k in rest[0].split(",")], a.threads, a.swa_full)
        elif kind == "prefix":
            r = run_prefix(Path(path), int(rest[0]), a.threads, a.swa_full, a.prefix_tokens)
        else:
            r = run_bandwidth(Path(path))
        print(json.dumps(r), flush=True)
        return
    path = _model_path(a.model)
    common = ["--steps", str(a.steps), "--threads", str(a.threads), "--prefix-tokens", str(a.prefix_tokens)]
    common += [] if a.swa_full else ["--no-swa-full"]
    bw = _child(["bandwidth", str(path)])
    print(json.dumps(bw), flush=True)
    decodes = []
    for n in [int(x) for x in a.ns.split(",")]:
        decodes.append(_child(["decode", str(path), str(n), *common]))
        print(json.dumps(decodes[-1]), flush=True)
    heads = _child(["head", str(path), a.head_ks, *common])
    print(json.dumps(heads), flush=True)
    pre = _child(["prefix", str(path), str(a.prefix_n), *common])
    print(json.dumps(pre), flush=True)
    base = decodes[0]["tokens_per_s"]
    print(f"\nthreads {a.threads}, swa_full {a.swa_full}, copy bandwidth {bw['copy_gb_s']:.2f} GB/s,"
          f" weights {bw['weight_bytes']:,} B, bound {bw['bound_tokens_s']:.1f} tok/s")  # fmt: skip
    for d in decodes:
        print(f"n={d['n']}: {d['tokens_per_s']:.1f} tok/s ({d['tokens_per_s'] / base:.2f}x), step "
              f"{d['step_ms']:.1f} ms (decode {d['decode_ms']:.1f} = body {d['body_ms']:.1f} + head "
              f"{d['decode_ms'] - d['body_ms']:.1f}, python {d['python_ms']:.2f}),"
              f" RSS {d['rss_mb']:.0f} MB, peak {d['hwm_mb']:.0f} MB")  # fmt: skip
    for k, h in heads.items():
        print(f"k={k} tokens in one decode: {h['with_logits_ms']:.1f} ms with logits, body {h['body_ms']:.1f},"
              f" head {h['head_ms']:.1f} ({h['head_ms'] / int(k):.1f} per output)")  # fmt: skip
    print(f"prefix {pre['prefix_tokens']} tokens x {pre['n']}: evaluated each time {pre['evaluate_each_s']:.2f} s,"
          f" once + copies {pre['evaluate_once_s']:.2f} s + {pre['copy_ms']:.2f} ms,"
          f" same next token {pre['same_next_token']}; a judge prompt is {pre['judge_prompt_tokens']} tokens,"
          f" two items share the first {pre['shared_by_two_items_today']} today")  # fmt: skip


if __name__ == "__main__":
    main()
