#!/usr/bin/env python3
"""Coverage of PPI++ intervals on real judgments: PandaLM's test set with two judges' committed verdicts.

    PYTHONPATH=src .venv/bin/python bench/ppi_coverage.py [--reps 1000] [--sizes 50,100,200] [--data DIR]

Data: ``../shared/data/pandalm`` (WeOpenML/PandaLM @ 3871806e72b4, Apache-2.0, LICENSE alongside; falls
back to the same files in ``tests/data/pandalm``), loaded with ``jurist.evaluation.datasets``: 999
pairwise items, the human label of an item is the majority of its three annotators (every item has one:
0 = tie 105, 1 = 422, 2 = 472).

Human values, over all 999 items:

- win rate of response 1: mean of 1 (majority "1") / 0.5 (majority tie) / 0 (majority "2") = 0.4750;
- tie rate (a pass rate, 0/1): the share of items whose majority label is a tie = 0.1051.

Judges (a prediction for every item): PandaLM-7B's and GPT-3.5-turbo's committed verdicts (an unparseable
GPT verdict, 25 of them, counts as a tie), and a simulated position-biased judge: PandaLM-7B with 25 % of
its "2" verdicts turned into "1" (fixed seed), whose win rate is biased upwards (its ties are PandaLM-7B's,
so it is shown for the win rate only).

For each subset size n, ``--reps`` random subsets of n items get their human labels (drawn without
replacement); the other 999 − n items are unlabelled. On each: the nominal-90 % PPI++ interval
(power-tuned λ) and the labels-only (classical) interval. The judge-only interval uses all 999 predictions
and no labels, so it is the same in every repeat: it covers the human value always or never. Reported:
coverage of the human value, mean interval width, mean effective labels and mean λ̂ of PPI++, and the
judge's bias (judge-only value − human value). The issue's goal: PPI++ covers in ≥ 88 % of repeats.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from jurist.evaluation.datasets import Label, load_judgments, load_pairwise  # noqa: E402
from jurist.evaluation.ppi import classical_mean, judge_only_mean, ppi_mean, win_value  # noqa: E402

ALPHA, SEED, FLIP = 0.1, 20240611, 0.25
SHARED = ROOT.parent / "shared" / "data" / "pandalm"
FALLBACK = ROOT / "tests" / "data" / "pandalm"


def _tie(label: Label) -> float:
    return 1.0 if label is None or label == 0 else 0.0


ESTIMANDS: dict[str, Callable[[Label], float]] = {"win rate (resp. 1)": win_value, "tie rate": _tie}


def _judges(data: Path, ids: list[str], seed: int) -> dict[str, list[Label]]:
    pandalm = load_judgments(data / "pandalm-7b-testset-v1.json")
    gpt = load_judgments(data / "gpt-3.5-turbo-testset-v1.json")
    judges = {
        "pandalm-7b": [pandalm[i] for i in ids],
        "gpt-3.5-turbo": [gpt.get(i) for i in ids],
    }
    rng = np.random.default_rng(seed + 1)
    flips = rng.random(len(ids)) < FLIP
    judges["pandalm-7b +pos.bias"] = [
        1 if (label == 2 and flip) else label for label, flip in zip(judges["pandalm-7b"], flips, strict=True)
    ]
    return judges


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--sizes", default="50,100,200")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--data", type=Path, default=SHARED if SHARED.exists() else FALLBACK)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    started = time.perf_counter()

    items = load_pairwise(args.data / "testset-v1.json")
    ids = [item.id for item in items]
    judges = _judges(args.data, ids, args.seed)
    total = len(items)
    print(
        f"PandaLM test set: {total} items ({args.data}); nominal {1 - ALPHA:.0%} intervals, {args.reps} subsets"
    )
    print("PPI = PPI++ (power-tuned λ), lab = labels only, judge = judge-only (all items, no labels)\n")
    header = (
        f"{'estimand':<19} {'judge':<21} {'human':>6} {'judge':>6} {'bias':>7} {'j.cov':>5} {'j.wid':>6}"
        f" {'n':>4} {'PPI cov':>7} {'PPI wid':>7} {'eff.n':>6} {'λ̂':>5} {'lab cov':>7} {'lab wid':>7}"
    )
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(args.seed)
    worst = 1.0
    for estimand, value in ESTIMANDS.items():
        truth = np.array([value(item.label) for item in items])
        human = float(truth.mean())
        for name, labels in judges.items():
            if name.endswith("pos.bias") and estimand == "tie rate":
                continue  # its flips leave ties alone: the same predictions as pandalm-7b
            pred = np.array([value(label) for label in labels])
            judge = judge_only_mean(pred, alpha=ALPHA)
            for n in sizes:
                cover = width = eff = lam = lab_cover = lab_width = 0.0
                for _ in range(args.reps):
                    mask = np.zeros(total, dtype=bool)
                    mask[rng.choice(total, size=n, replace=False)] = True
                    ppi = ppi_mean(truth[mask], pred[mask], pred[~mask], alpha=ALPHA)
                    lab = classical_mean(truth[mask], alpha=ALPHA)
                    cover += ppi.covers(human)
                    width += ppi.width
                    eff += ppi.effective_labels
                    lam += ppi.lam
                    lab_cover += lab.covers(human)
                    lab_width += lab.width
                reps = args.reps
                worst = min(worst, cover / reps)
                print(
                    f"{estimand:<19} {name:<21} {human:6.4f} {judge.estimate:6.4f} {judge.estimate - human:+7.4f}"
                    f" {'yes' if judge.covers(human) else 'no':>5} {judge.width:6.4f} {n:4d}"
                    f" {cover / reps:7.1%} {width / reps:7.4f} {eff / reps:6.0f} {lam / reps:5.2f}"
                    f" {lab_cover / reps:7.1%} {lab_width / reps:7.4f}"
                )
        print()
    verdict = "meets" if worst >= 0.88 else "MISSES"
    print(
        f"lowest PPI++ coverage: {worst:.1%} ({verdict} the ≥ 88% goal); {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
