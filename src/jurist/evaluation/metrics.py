"""Agreement of a judge with gold labels: accuracy, macro precision/recall/F1, bootstrap CIs, baselines,
and the two-order figures (accuracy averaged over both orders, positional agreement)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from jurist.evaluation.datasets import Label, PairItem

CLASSES = (0, 1, 2)


@dataclass(frozen=True)
class Report:
    n: int
    accuracy: float
    accuracy_ci: tuple[float, float]
    macro_precision: float
    macro_recall: float
    macro_f1: float
    unparseable: int
    predicted_ties: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def bootstrap_ci(
    hits: np.ndarray, reps: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap CI of a mean of 0/1 (or fractional) outcomes; (0, 0) without outcomes."""
    return bootstrap_ratio_ci(hits, reps=reps, seed=seed, level=level) or (0.0, 0.0)


def bootstrap_ratio_ci(
    numerators: np.ndarray,
    denominators: np.ndarray | None = None,
    reps: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile bootstrap CI of sum(numerators) / sum(denominators) over resampled units (a mean when
    ``denominators`` is None; a ratio of per-unit counts is a cluster bootstrap). Rounds are drawn in
    chunks, so memory stays flat however many units there are. None when there is nothing to resample."""
    num = np.asarray(numerators, dtype=float)
    den = np.ones_like(num) if denominators is None else np.asarray(denominators, dtype=float)
    n = len(num)
    if n == 0 or float(den.sum()) == 0 or reps < 1:
        return None
    rng = np.random.default_rng(seed)
    stats = np.empty(reps)
    step = max(1, 2_000_000 // n)
    for start in range(0, reps, step):
        rows = min(step, reps - start)
        picks = rng.integers(0, n, size=(rows, n))
        totals = den[picks].sum(axis=1)
        stats[start : start + rows] = np.divide(
            num[picks].sum(axis=1), totals, out=np.full(rows, np.nan), where=totals > 0
        )
    stats = stats[~np.isnan(stats)]
    low, high = np.quantile(stats, [(1 - level) / 2, 1 - (1 - level) / 2])
    return (float(low), float(high))


def classification(gold: Sequence[int], predicted: Sequence[Label]) -> Report:
    g = np.array(gold)
    p = np.array([-1 if x is None else x for x in predicted])
    hits = (g == p).astype(float)
    precision, recall, f1 = [], [], []
    for c in CLASSES:
        tp = float(np.sum((g == c) & (p == c)))
        pp, gp = float(np.sum(p == c)), float(np.sum(g == c))
        pr = tp / pp if pp else 0.0
        rc = tp / gp if gp else 0.0
        precision.append(pr)
        recall.append(rc)
        f1.append(2 * pr * rc / (pr + rc) if pr + rc else 0.0)
    return Report(
        n=len(g),
        accuracy=float(hits.mean()) if len(g) else 0.0,
        accuracy_ci=bootstrap_ci(hits),
        macro_precision=float(np.mean(precision)),
        macro_recall=float(np.mean(recall)),
        macro_f1=float(np.mean(f1)),
        unparseable=int(np.sum(p == -1)),
        predicted_ties=int(np.sum(p == 0)),
    )


def baselines(items: Sequence[PairItem]) -> dict[str, Report]:
    gold = [i.label for i in items]
    rng = np.random.default_rng(0)
    sizes = [(len(i.answer1.encode()), len(i.answer2.encode())) for i in items]  # length in UTF-8 bytes
    longer = [1 if a > b else 2 if b > a else 0 for a, b in sizes]
    # the data README's length-only baseline: non-tie items whose answers differ in length
    non_tie = [
        (i.label, guess) for i, guess in zip(items, longer, strict=True) if i.label != 0 and guess != 0
    ]
    return {
        "random": classification(gold, [int(x) for x in rng.integers(0, 3, size=len(items))]),
        "always_first": classification(gold, [1] * len(items)),
        "always_second": classification(gold, [2] * len(items)),
        "longer_wins": classification(gold, longer),
        "longer_wins_non_tie_items": classification([g for g, _ in non_tie], [p for _, p in non_tie]),
    }


@dataclass(frozen=True)
class TwoOrderReport:
    """A judge run on every item in both orders; ``second`` is already mapped back to the given order."""

    as_given: Report
    swapped: Report
    averaged_accuracy: float
    averaged_accuracy_ci: tuple[float, float]
    positional_agreement: float
    parse_failures: int

    def as_dict(self) -> dict[str, object]:
        return {
            "as_given": self.as_given.as_dict(),
            "swapped": self.swapped.as_dict(),
            "averaged_accuracy": self.averaged_accuracy,
            "averaged_accuracy_ci": self.averaged_accuracy_ci,
            "positional_agreement": self.positional_agreement,
            "parse_failures": self.parse_failures,
        }


def two_orders(gold: Sequence[int], first: Sequence[Label], second: Sequence[Label]) -> TwoOrderReport:
    a, b = classification(gold, first), classification(gold, second)
    g = np.array(gold)
    hits = ((g == np.array([-1 if x is None else x for x in first])).astype(float)
            + (g == np.array([-1 if x is None else x for x in second])).astype(float)) / 2  # fmt: skip
    agree = [x is not None and x == y for x, y in zip(first, second, strict=True)]
    return TwoOrderReport(
        as_given=a,
        swapped=b,
        averaged_accuracy=float(hits.mean()) if len(g) else 0.0,
        averaged_accuracy_ci=bootstrap_ci(hits),
        positional_agreement=float(np.mean(agree)) if agree else 0.0,
        parse_failures=a.unparseable + b.unparseable,
    )


@dataclass(frozen=True)
class Correlation:
    n: int
    scored: int
    pearson: float | None
    kendall_tau_b: float | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's tau-b (ties accounted for), O(n²): fine for evaluation sets of a few thousand."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(a) < 2:
        return None
    da = np.sign(a[:, None] - a[None, :])
    db = np.sign(b[:, None] - b[None, :])
    upper = np.triu_indices(len(a), k=1)
    s = float(np.sum(da[upper] * db[upper]))
    pairs_a = float(np.sum(da[upper] != 0))
    pairs_b = float(np.sum(db[upper] != 0))
    if pairs_a == 0 or pairs_b == 0:
        return None
    return s / float(np.sqrt(pairs_a * pairs_b))


def correlation(judge: Sequence[float | None], reference: Sequence[float]) -> Correlation:
    """Agreement of a judge's scores with reference scores, over the items the judge scored."""
    pairs = [(j, r) for j, r in zip(judge, reference, strict=True) if j is not None]
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    return Correlation(len(judge), len(pairs), pearson(xs, ys), kendall_tau_b(xs, ys))
