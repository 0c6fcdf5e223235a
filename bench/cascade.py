"""Issue 10: a cascade (cheap judge first, strong judge on escalation) against either judge alone.

Synthetic pair of judges (``evaluation/synthetic.py`` SyntheticPair): cheap agreement 0.5 + 0.35·s, strong
0.6 + 0.4·s', both signals tied to the item's ease. 200 random calibration/test halves of 4000 items;
targets 0.8 and 0.9, delta 0.1; the service's rule (``evaluation/cascade_eval.py``): a single judge is a
one-stage cascade tested at delta, the two-stage cascade tests each stage at delta / 2. Calls per item:
cheap 1, strong 6 (pai-judge-plus: both orders × 3 samples). "Population" applies each split's
thresholds to 400 000 fresh items and averages the true agreement probability of the accepted ones.

    PYTHONPATH=src python bench/cascade.py
"""

from __future__ import annotations

import numpy as np

from jurist.evaluation.cascade_eval import ABSTAINED, choose_thresholds, decide, evaluate
from jurist.evaluation.synthetic import SyntheticPair

DELTA, SPLITS, ITEMS, POPULATION = 0.1, 200, 4000, 400_000
TARGETS = (0.8, 0.9)
SETUPS = {
    "cheap alone": ([0], [1.0]),
    "strong alone": ([1], [6.0]),
    "cascade cheap → strong": ([0, 1], [1.0, 6.0]),
}
PAIRS = {
    "cheap 0.5 + 0.35·s (brief)": SyntheticPair(),
    "sharper cheap 0.5 + 0.5·s (§9's judge)": SyntheticPair(cheap_slope=0.5),
}


def on_population(
    pop: tuple[np.ndarray, np.ndarray], thresholds: list[float | None], calls: list[float]
) -> tuple[float, float | None, float]:
    """Coverage, true agreement (mean agreement probability) of the accepted items and mean calls per item
    on the population."""
    signal, truth = pop
    stage, ran = decide(signal, thresholds)
    cost = float(np.cumsum(calls)[ran - 1].mean())
    accepted = stage != ABSTAINED
    if not accepted.any():
        return 0.0, None, cost
    return float(accepted.mean()), float(truth[stage[accepted], np.flatnonzero(accepted)].mean()), cost


def run(name: str, rows: list[int], calls: list[float], target: float, pair: SyntheticPair,
        sample: tuple[np.ndarray, np.ndarray], pop: tuple[np.ndarray, np.ndarray]) -> None:  # fmt: skip
    signal, agreed = (d[rows] for d in sample)
    population = (pop[0][rows], pop[1][rows])
    rng = np.random.default_rng(1)
    coverage, cost, agreement, shares = [], [], [], []
    below = nothing = 0
    for _ in range(SPLITS):
        order = rng.permutation(signal.shape[1])
        cal, test = order[: len(order) // 2], order[len(order) // 2 :]
        _, out = evaluate(signal, agreed, cal, test, target, DELTA, calls)
        coverage.append(out.coverage)
        cost.append(out.calls)
        shares.append(out.decided_share)
        if out.accepted == 0:
            nothing += 1
            continue
        agreement.append(out.agreement or 0.0)
        below += (out.agreement or 0.0) < target
    pop_below, pop_coverage, pop_cost = 0, [], []
    for seed in range(SPLITS):  # independent calibration draws of ITEMS / 2, judged on the population
        s, a = pair.draw(ITEMS // 2, seed=1000 + seed)
        selections = choose_thresholds(s[rows], a[rows], target, DELTA)
        cov, agree, spent = on_population(population, [sel.threshold for sel in selections], calls)
        pop_coverage.append(cov)
        pop_cost.append(spent)
        pop_below += agree is not None and agree < target
    decided = " / ".join(f"{v:.3f}" for v in np.mean(shares, axis=0))
    print(f"| {target} | {name} | {np.mean(coverage):.3f} [{np.quantile(coverage, 0.05):.3f}–"
          f"{np.quantile(coverage, 0.95):.3f}] | {np.mean(agreement) if agreement else float('nan'):.3f} | "
          f"{below}/{SPLITS} | {nothing}/{SPLITS} | {decided} | {np.mean(cost):.2f} | "
          f"{pop_below}/{SPLITS} | {np.mean(pop_coverage):.3f} | {np.mean(pop_cost):.2f} |")  # fmt: skip


def main() -> None:
    for label, pair in PAIRS.items():
        signal, agreed = pair.draw(ITEMS, seed=0)
        pop_signal, _ = pair.draw(POPULATION, seed=1)
        print(f"\n{label}: {ITEMS} items, cheap agrees on {agreed[0].mean():.3f}, strong on "
              f"{agreed[1].mean():.3f}; signal correlation {np.corrcoef(signal)[0, 1]:.3f}")  # fmt: skip
        print("| target | judge | coverage mean [5–95 %] | accepted agreement (mean) | test below target | "
              "nothing accepted | share decided per stage | calls per item | "
              "independent draws: population below target | population coverage | population calls per item |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for target in TARGETS:
            for name, (rows, calls) in SETUPS.items():
                run(name, rows, calls, target, pair, (signal, agreed), (pop_signal, pair.truth(pop_signal)))


if __name__ == "__main__":
    main()
