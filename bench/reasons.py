#!/usr/bin/env python3
"""Verdict length (``reasons``: full / short / none) on the bundled embedded model: items/s and completion
tokens of sequential pairwise verdicts.

    PYTHONPATH=src .venv/bin/python bench/reasons.py [--items 8] [--data-dir /tmp/jurist-bench-reasons]

The ``--items`` PandaLM test-set items (tests/data/pandalm, Apache-2.0) with the shortest texts, judged
pairwise with the eight default criteria by the backend ``pai-judge`` uses (bundled Gemma 3 270M, reasons
capped at 120 characters by grammar, temperature 0), one verdict at a time. The three choices are
interleaved item by item (the order rotates per item) so drift hits all three. Every verdict is parsed
(``judging.parsing``), rendered as PAI's text (``judging.render``) and read back with the seed's ``[[…]]``
patterns; items/s = items / the summed wall time of the ``generate`` calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

from jurist.backends.base import GenerationRequest
from jurist.backends.llama_cpp import LlamaCppBackend, bundled_model_path
from jurist.judging.parsing import parse_verdict
from jurist.judging.prompts import build_task
from jurist.judging.render import render
from jurist.protocol.items import REASONS, PairwiseItem, Reasons
from jurist.settings import JudgingPolicy, LlamaCppModelConfig

ROOT = Path(__file__).resolve().parents[1]
TESTSET = ROOT / "tests/data/pandalm/testset-v1.json"
# the seed's pairwise verdict and overall scores, as a PAI client reads them
SEED_VERDICT = re.compile(r"\[\[(Response 1 is better|Response 2 is better|Both responses are tied)\]\]")
SEED_SCORES = re.compile(r"Response 1 is \[\[(\d+)\]\].*Response 2 is \[\[(\d+)\]\]")


def _text(record: dict[str, object], key: str) -> str:
    value = record.get(key)
    return value if isinstance(value, str) else ""


def shortest_items(n: int) -> list[PairwiseItem]:
    records: list[dict[str, object]] = json.loads(TESTSET.read_text())
    items = []
    for r in records:
        question = "\n".join(t for t in (_text(r, "instruction"), _text(r, "input")) if t)
        answer1, answer2 = _text(r, "response1"), _text(r, "response2")
        if question and answer1.strip() and answer2.strip():
            items.append(PairwiseItem(question=question, answer1=answer1, answer2=answer2))
    items.sort(key=lambda i: len(i.question_text) + len(i.answer1) + len(i.answer2))
    return items[:n]


async def run(n: int, data_dir: Path) -> dict[str, object]:
    config = LlamaCppModelConfig(judging=JudgingPolicy(reason_max_chars=120))  # as pai-judge
    backend = LlamaCppBackend(config, bundled_model_path(data_dir))
    items = shortest_items(n)
    seconds: dict[Reasons, list[float]] = {r: [] for r in REASONS}
    tokens: dict[Reasons, list[int]] = {r: [] for r in REASONS}
    prompts: dict[Reasons, list[int]] = {r: [] for r in REASONS}
    parsed: dict[Reasons, int] = dict.fromkeys(REASONS, 0)
    try:
        await backend.start()
        warm = build_task(PairwiseItem(question="1+1?", answer1="2", answer2="3", criteria=["Accuracy"]))
        await backend.generate(GenerationRequest(messages=warm.messages, json_schema=warm.schema))
        for i, item in enumerate(items):
            order = REASONS[i % 3 :] + REASONS[: i % 3]
            for reasons in order:
                task = build_task(item, config.reason_limit, reasons)
                request = GenerationRequest(messages=task.messages, json_schema=task.schema, temperature=0.0)
                t0 = time.perf_counter()
                out = await backend.generate(request)
                seconds[reasons].append(time.perf_counter() - t0)
                tokens[reasons].append(out.completion_tokens)
                prompts[reasons].append(out.prompt_tokens)
                verdict, _, _ = parse_verdict(out.text, task)
                if verdict is not None:
                    text = render(verdict, "pairwise", task.scale, task.language, reasons)
                    if SEED_VERDICT.search(text) and SEED_SCORES.search(text):
                        parsed[reasons] += 1
    finally:
        await backend.aclose()
    full_rate = len(items) / sum(seconds["full"])
    return {
        "items": len(items),
        "criteria": 8,
        "by_reasons": {
            r: {
                "items_per_s": round(len(items) / sum(seconds[r]), 4),
                "seconds_per_item": round(statistics.mean(seconds[r]), 2),
                "mean_completion_tokens": round(statistics.mean(tokens[r]), 1),
                "mean_prompt_tokens": round(statistics.mean(prompts[r]), 1),
                "speedup_vs_full": round(len(items) / sum(seconds[r]) / full_rate, 2),
                "parsed_by_seed_patterns": f"{parsed[r]}/{len(items)}",
            }
            for r in REASONS
        },
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=8)
    p.add_argument("--data-dir", type=Path, default=None)
    args = p.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="jurist-bench-reasons-"))
    print(json.dumps(asyncio.run(run(args.items, data_dir)), indent=2))


if __name__ == "__main__":
    main()
