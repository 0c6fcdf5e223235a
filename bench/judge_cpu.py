#!/usr/bin/env python3
"""CPU cost of the judging domain alone (no HTTP, no model): build the prompt and schema, parse a
well-formed JSON verdict, render the PAI text, decide the typed ``judgment`` and serialise it.

    .venv/bin/python bench/judge_cpu.py [-n 5000]
"""

from __future__ import annotations

import argparse
import json
import time

from jurist.judging.criteria import DEFAULT_CRITERIA
from jurist.judging.judgment import Context, Game, decide
from jurist.judging.parsing import parse_verdict
from jurist.judging.prompts import build_task
from jurist.judging.render import render
from jurist.protocol.items import PairwiseItem, SingleItem

QUESTION = "According to the first couplet, give the second couplet. first couplet: To climb the mountain, reach the peak"
NAMES = [c.name for c in DEFAULT_CRITERIA["en"]]
REASON = "The response follows the instruction and mirrors the structure of the first line closely. "
SINGLE_JSON = json.dumps(
    {
        "criteria": {n: {"reason": REASON, "score": None if n == "Timeliness" else 4} for n in NAMES},
        "summary": "Although it is fluent, it misses the parallelism a good couplet needs.",
        "overall_score": 3,
    }
)
PAIR_JSON = json.dumps(
    {
        "criteria": {
            n: {"reason": REASON, "response_1_score": 4, "response_2_score": None if n == "Timeliness" else 3}
            for n in NAMES
        },
        "summary": "Both are fluent; the first keeps the parallel structure better.",
        "response_1_score": 4,
        "response_2_score": 3,
        "winner": "response_1",
    }
)


def once(mode: str) -> None:
    if mode == "single":
        item: SingleItem | PairwiseItem = SingleItem(
            question=QUESTION, answer="To cross the river, find the creek."
        )
        text = SINGLE_JSON
    else:
        item = PairwiseItem(
            question=QUESTION, answer1="To cross the river, find the creek.", answer2="To chase the dream."
        )
        text = PAIR_JSON
    task = build_task(item)
    verdict, how, _ = parse_verdict(text, task)
    assert verdict is not None
    render(verdict, task.mode, task.scale, task.language)
    context = Context(task.mode, task.scale, task.scene, task.language)
    decide(context, [Game("as_given", 0, verdict, how, 1)]).judgment.model_dump_json()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=5000)
    n = p.parse_args().n
    out = {}
    for mode in ("single", "pairwise"):
        for _ in range(200):
            once(mode)
        t0 = time.process_time()
        for _ in range(n):
            once(mode)
        out[f"{mode}_cpu_ms"] = round((time.process_time() - t0) * 1000 / n, 4)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
