"""Issue 10: check the selective-verdict guarantee by repetition, and calibration before/after.

Synthetic judge (agreement = 0.5 + 0.5·s, s ~ U(0, 1)): calibration error of the raw signal and of the
fitted calibrators on held-out items; 200 random calibration/test halves of 2000 items; 200 independent
calibration draws. Target agreement 0.9, delta 0.1. Then the PandaLM test set with its committed GPT-3.5
verdicts, whose only confidence signal is whether PandaLM-7B's committed verdict agrees with GPT-3.5's.

    PYTHONPATH=src python bench/guarantee.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jurist.evaluation.calibration import fit_calibrator
from jurist.evaluation.datasets import load_judgments, load_pairwise
from jurist.evaluation.reliability import calibration_quality
from jurist.evaluation.selective import choose_threshold, default_step
from jurist.evaluation.synthetic import SyntheticJudge

TARGET, DELTA, SPLITS, ITEMS = 0.9, 0.1, 200, 2000


def splits(signal: np.ndarray, agreed: np.ndarray, step: int | None, judge: SyntheticJudge | None,
           target: float = TARGET) -> None:  # fmt: skip
    rng = np.random.default_rng(1)
    below = exact_below = none = 0
    coverage: list[float] = []
    for _ in range(SPLITS):
        order = rng.permutation(len(signal))
        cal, test = order[: len(order) // 2], order[len(order) // 2 :]
        sel = choose_threshold(signal[cal].tolist(), agreed[cal].tolist(), target, DELTA, step)
        out = sel.apply(signal[test].tolist(), agreed[test].tolist())
        coverage.append(out.coverage)
        if sel.threshold is None:
            none += 1
            continue
        below += (out.agreement or 0.0) < target
        if judge is not None:
            exact_below += judge.agreement_above(sel.threshold) < target
    print(f"  target {target}, step {'default' if step is None else step}: test-half agreement below target "
          f"in {below}/{SPLITS} splits"
          + (f", population agreement below target in {exact_below}/{SPLITS}" if judge else "")
          + f", no threshold in {none}; test coverage mean {np.mean(coverage):.3f} "
          f"[5–95%: {np.quantile(coverage, 0.05):.3f}–{np.quantile(coverage, 0.95):.3f}]")  # fmt: skip


def independent(judge: SyntheticJudge) -> None:
    """Independent calibration draws: how often the chosen threshold's exact population agreement is below
    the target, how often no threshold is found, and the mean coverage (abstaining counts as 0)."""
    for n in (500, 1000):
        for step in (1, default_step(n, TARGET, DELTA)):
            coverage, none, fail = [], 0, 0
            for seed in range(SPLITS):
                s, a = judge.draw(n, seed + 1000)
                sel = choose_threshold(s.tolist(), a.tolist(), TARGET, DELTA, step)
                if sel.threshold is None:
                    none += 1
                    coverage.append(0.0)
                    continue
                coverage.append(1 - sel.threshold)
                fail += judge.agreement_above(sel.threshold) < TARGET
            print(f"  {SPLITS} independent draws of {n}, step {step}: population agreement below target in "
                  f"{fail}/{SPLITS}, no threshold in {none}/{SPLITS}, mean coverage {np.mean(coverage):.3f}")  # fmt: skip


def calibration(signal: np.ndarray, agreed: np.ndarray) -> None:
    half = len(signal) // 2
    for n in (100, half):
        cal = fit_calibrator(signal[:n].tolist(), agreed[:n].tolist())
        before = calibration_quality(signal[half:], agreed[half:])
        after = calibration_quality(cal.apply_many(signal[half:]), agreed[half:])
        print(f"  fitted on {n} ({cal.kind}), measured on {len(signal) - half}: "
              f"ECE {before.ece.value:.3f} [{before.ece.low:.3f}–{before.ece.high:.3f}] -> "
              f"{after.ece.value:.3f} [{after.ece.low:.3f}–{after.ece.high:.3f}]; "
              f"Brier {before.brier.value:.3f} -> {after.brier.value:.3f}")  # fmt: skip


def pandalm() -> None:
    data = Path("tests/data/pandalm")
    items = load_pairwise(data / "testset-v1.json")
    gpt = load_judgments(data / "gpt-3.5-turbo-testset-v1.json")
    panda = load_judgments(data / "pandalm-7b-testset-v1.json")
    both = [i for i in items if gpt.get(i.id) is not None and panda.get(i.id) is not None]
    signal = np.array([1.0 if gpt[i.id] == panda[i.id] else 0.0 for i in both])
    agreed = np.array([gpt[i.id] == i.label for i in both])
    print(f"PandaLM: {len(both)} items with both verdicts; GPT-3.5 agrees with the human majority on "
          f"{agreed.mean():.3f}; on the {signal.mean():.3f} where PandaLM-7B agrees with it "
          f"{agreed[signal == 1].mean():.3f}, elsewhere {agreed[signal == 0].mean():.3f}")  # fmt: skip
    for target in (0.75, 0.8, 0.9):
        splits(signal, agreed, None, None, target)


def main() -> None:
    judge = SyntheticJudge(0.5, 1.0)
    signal, agreed = judge.draw(ITEMS, seed=0)
    oracle = judge.oracle_threshold(TARGET) or 0.0
    print(f"synthetic: {ITEMS} items, oracle threshold {oracle:.3f}, oracle coverage {1 - oracle:.3f}")
    calibration(signal, agreed)
    for step in (1, None):
        splits(signal, agreed, step, judge)
    independent(judge)
    pandalm()


if __name__ == "__main__":
    main()
