"""Agreement with human labels, pure functions over lines. A line's gold is the majority of its
annotators' labels (a tie between annotators excludes the line, counted). Inter-annotator agreement over
lines with two or more annotators (percent of agreeing annotator pairs, Fleiss' kappa with a varying
number of raters per line); judge vs gold: accuracy with a seeded bootstrap CI, Cohen's kappa, the
confusion matrix, and for single lines exact / within-1 agreement and Kendall's tau-b; the same split
by swap-consistent vs inconsistent lines and by ensemble agreement (unanimous vs split)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from jurist.evaluation.metrics import bootstrap_ci, kendall_tau_b

Label = str | int  # "1" | "2" | "tie" (pairwise) or an integer score (single)


@dataclass(frozen=True)
class LabeledLine:
    custom_id: str
    mode: str  # "pairwise" | "single"
    judge: Label | None  # the judge's verdict; None when the line was not scored
    labels: Mapping[str, Label]  # annotator → label
    swap_consistent: bool | None = None
    ensemble_unanimous: bool | None = None


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class InterAnnotator(_Model):
    lines: int  # lines with two or more annotators
    percent_agreement: float | None
    fleiss_kappa: float | None


class JudgeAgreement(_Model):
    n: int
    accuracy: float | None
    accuracy_ci: tuple[float, float] | None
    cohen_kappa: float | None
    confusion: dict[str, dict[str, int]]  # gold → judge → lines
    within_1: float | None = None  # single lines only
    kendall_tau_b: float | None = None  # single lines only


class CriterionAgreement(_Model):
    name: str
    n: int
    exact: float | None
    within_1: float | None
    kendall_tau_b: float | None


class ModeAgreement(_Model):
    labeled_lines: int
    annotator_ties: int  # lines whose annotators tie: no gold, excluded
    unjudged: int  # labeled lines the judge did not score: excluded
    inter_annotator: InterAnnotator
    judge: JudgeAgreement
    by_swap: dict[str, JudgeAgreement]  # "consistent" | "inconsistent"
    by_ensemble: dict[str, JudgeAgreement]  # "unanimous" | "split"
    criteria: list[CriterionAgreement] = []


class Agreement(_Model):
    pairwise: ModeAgreement | None
    single: ModeAgreement | None


def majority(labels: Sequence[Hashable]) -> Hashable | None:
    """The most frequent label; None when two labels tie for it (or there are none)."""
    top = Counter(labels).most_common(2)
    if not top or (len(top) == 2 and top[0][1] == top[1][1]):
        return None
    return top[0][0]


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters over the same items; None when chance agreement is total."""
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    return None if expected == 1 else (observed - expected) / (1 - expected)


def inter_annotator(ratings: Sequence[Sequence[Hashable]]) -> InterAnnotator:
    """Over items each rated by two or more annotators: the mean share of agreeing rater pairs, and
    Fleiss' kappa (chance from the pooled label shares)."""
    items = [r for r in ratings if len(r) >= 2]
    if not items:
        return InterAnnotator(lines=0, percent_agreement=None, fleiss_kappa=None)
    shares = []
    pooled: Counter[Hashable] = Counter()
    for r in items:
        counts = Counter(r)
        pooled.update(counts)
        shares.append(sum(c * (c - 1) for c in counts.values()) / (len(r) * (len(r) - 1)))
    observed = float(np.mean(shares))
    total = sum(pooled.values())
    expected = sum((c / total) ** 2 for c in pooled.values())
    kappa = None if expected == 1 else (observed - expected) / (1 - expected)
    return InterAnnotator(lines=len(items), percent_agreement=observed, fleiss_kappa=kappa)


def judge_agreement(
    pairs: Sequence[tuple[Label, Label]], mode: str, rounds: int, seed: int
) -> JudgeAgreement:
    """``pairs``: (judge, gold) per line."""
    judge = [str(j) for j, _ in pairs]
    gold = [str(g) for _, g in pairs]
    confusion: dict[str, dict[str, int]] = {}
    for j, g in zip(judge, gold, strict=True):
        row = confusion.setdefault(g, {})
        row[j] = row.get(j, 0) + 1
    hits = np.array([j == g for j, g in zip(judge, gold, strict=True)], dtype=float)
    n = len(pairs)
    within = tau = None
    if mode == "single" and n:
        x = np.array([float(j) for j, _ in pairs])
        y = np.array([float(g) for _, g in pairs])
        within = float(np.mean(np.abs(x - y) <= 1))
        tau = kendall_tau_b(list(x), list(y))
    return JudgeAgreement(
        n=n,
        accuracy=float(hits.mean()) if n else None,
        accuracy_ci=bootstrap_ci(hits, reps=rounds, seed=seed) if n else None,
        cohen_kappa=cohen_kappa(judge, gold),
        confusion={g: dict(sorted(row.items())) for g, row in sorted(confusion.items())},
        within_1=within,
        kendall_tau_b=tau,
    )


def mode_agreement(lines: Sequence[LabeledLine], mode: str, rounds: int, seed: int) -> ModeAgreement | None:
    """Agreement over the labeled lines of one mode; None without any."""
    mine = [line for line in lines if line.mode == mode and line.labels]
    if not mine:
        return None
    ties = unjudged = 0
    kept: list[tuple[LabeledLine, Label]] = []
    for line in mine:
        gold = majority(list(line.labels.values()))
        if gold is None:
            ties += 1
        elif line.judge is None:
            unjudged += 1
        else:
            kept.append((line, gold))  # type: ignore[arg-type]

    def over(chosen: list[tuple[LabeledLine, Label]]) -> JudgeAgreement:
        return judge_agreement(
            [(line.judge, g) for line, g in chosen if line.judge is not None], mode, rounds, seed
        )

    swaps = {"consistent": True, "inconsistent": False}
    ensembles = {"unanimous": True, "split": False}
    return ModeAgreement(
        labeled_lines=len(mine),
        annotator_ties=ties,
        unjudged=unjudged,
        inter_annotator=inter_annotator([list(line.labels.values()) for line in mine]),
        judge=over(kept),
        by_swap={k: over([p for p in kept if p[0].swap_consistent is v]) for k, v in swaps.items()
                 if any(p[0].swap_consistent is v for p in kept)},
        by_ensemble={k: over([p for p in kept if p[0].ensemble_unanimous is v]) for k, v in ensembles.items()
                     if any(p[0].ensemble_unanimous is v for p in kept)},
    )  # fmt: skip


def agreement(lines: Sequence[LabeledLine], rounds: int = 1000, seed: int = 0) -> Agreement:
    return Agreement(
        pairwise=mode_agreement(lines, "pairwise", rounds, seed),
        single=mode_agreement(lines, "single", rounds, seed),
    )
