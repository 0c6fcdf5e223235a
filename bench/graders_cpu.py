#!/usr/bin/env python3
"""CPU cost of the pure evals graders (no HTTP, no store): for each item, render the grader templates
against the row and the sample, then grade it with string_check (``eq``, ``ilike``) and
text_similarity ``fuzzy_match``, as an eval run over a JSONL file of rows and samples would.

    .venv/bin/python bench/graders_cpu.py [-n 10000] [--metric fuzzy_match]

Prints items/s (wall clock) and CPU µs per item (``time.process_time``), in one process, one core.
"""

from __future__ import annotations

import argparse
import random
import time

from jurist.evaluation.graders.string_check import string_check
from jurist.evaluation.graders.template import render
from jurist.evaluation.graders.text_similarity import TEXT_METRICS, preload, similarity

WORDS = ["the", "a", "capital", "of", "France", "is", "Paris", "Lyon", "city", "river", "Seine"]
WORDS += ["north", "south", "large", "small", "old", "new"]
INPUT = "{{ sample.output_text }}"
REFERENCE = "{{ item.reference_answer }}"


def make_items(n: int, seed: int = 1) -> list[dict[str, object]]:
    """``n`` contexts ``{item, sample}`` with answers of 3 to 20 words, some equal to the reference."""
    rng = random.Random(seed)
    contexts: list[dict[str, object]] = []
    for _ in range(n):
        reference = " ".join(rng.choices(WORDS, k=rng.randint(3, 20)))
        output = reference if rng.random() < 0.3 else " ".join(rng.choices(WORDS, k=rng.randint(3, 20)))
        contexts.append({"item": {"reference_answer": reference}, "sample": {"output_text": output}})
    return contexts


def grade(context: dict[str, object], metric: str) -> tuple[float, float, float]:
    output = render(INPUT, context)
    reference = render(REFERENCE, context)
    return (
        string_check(output, reference, "eq"),
        string_check(output, reference, "ilike"),
        similarity(metric, output, reference),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="items to grade (default 10000)")
    parser.add_argument("--metric", default="fuzzy_match", choices=sorted(TEXT_METRICS))
    args = parser.parse_args()
    contexts = make_items(args.n)
    preload([args.metric])  # the NLTK / rouge-score imports are not part of the per-item cost
    grade(contexts[0], args.metric)  # warm up the template cache

    wall, cpu = time.perf_counter(), time.process_time()
    passed = 0
    for context in contexts:
        eq, _ilike, score = grade(context, args.metric)
        passed += eq == 1.0 and score >= 0.8
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

    print(f"graded {args.n} items: string_check eq + ilike, text_similarity {args.metric}")
    print(f"  {args.n / wall:,.0f} items/s (wall clock)")
    print(f"  {cpu / args.n * 1e6:.2f} µs CPU per item")
    print(f"  {passed} items passed eq and {args.metric} >= 0.8")


if __name__ == "__main__":
    main()
