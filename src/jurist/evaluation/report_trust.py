"""The trust sections of a batch report, from the few trust fields kept per judged line (``TrustLine``):

- ``confidence`` (labelled batches): each labelled line's ``judgment.confidence`` against whether the
  verdict matches the human majority (the gold, ``agreement.majority``): expected calibration error
  (equal-mass bins) and Brier score with bootstrap CIs, and the reliability bins
  (``evaluation.reliability``). Calibrated confidences (a probability that a human agrees) and raw
  signals (``calibrated: false``) are measured apart, never pooled.
- ``selective``: lines whose judgment says ``abstained``: coverage (the share accepted), the
  (target, delta, threshold) settings seen; with labels, the agreement on accepted and on abstained
  lines with Clopper–Pearson intervals. Abstained lines are not counted as decided.
- ``cascade``: lines judged by a cascade model: what each stage decided, the lines no stage decided
  (or that abstained after the last stage), and the mean number of stages run per line.

Each section is None when no line has what it needs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from jurist.evaluation.agreement import Label, majority
from jurist.evaluation.binomial import clopper_pearson
from jurist.evaluation.reliability import bootstrap, brier_score, expected_calibration_error, reliability_bins
from jurist.evaluation.report_model import (
    CascadeSection,
    CascadeStageCount,
    ConfidenceGroup,
    ConfidenceQuality,
    ExactRate,
    ReliabilityBin,
    SelectiveSection,
    SelectiveSetting,
    ValueCI,
)
from jurist.protocol.judgment import PairwiseJudgment, SingleJudgment

ABSTAINED_HANDLING = (
    "abstained lines are not counted as decided: they are left out of the single and pairwise sections "
    "(score distribution, means, win/tie/loss, leaderboards) and counted here; judge health counts them"
)
_WINNERS = {"response_1": "1", "response_2": "2", "tie": "tie"}
Setting = tuple[float, float, float | None]  # (agreement target, delta, threshold; None: none supported)


@dataclass(frozen=True)
class TrustLine:
    custom_id: str | None
    verdict: str | None  # the verdict as a label reads: "1" | "2" | "tie", or the rounded score
    confidence: float | None
    calibrated: bool
    calibration: str | None
    abstained: bool | None
    setting: Setting | None
    stages: tuple[tuple[str, bool], ...] | None  # (model, decided) per cascade stage run


def trust_line(judgment: SingleJudgment | PairwiseJudgment, custom_id: str | None) -> TrustLine | None:
    """The line's trust fields; None when it carries none (a line written before them)."""
    if judgment.confidence is None and judgment.abstained is None and judgment.cascade is None:
        return None
    verdict: str | None = None
    if isinstance(judgment, PairwiseJudgment):
        if judgment.scored and judgment.winner is not None:
            verdict = _WINNERS[judgment.winner]
    elif judgment.scored and judgment.overall_score is not None:
        verdict = str(round(judgment.overall_score))
    selective = judgment.selective
    return TrustLine(
        custom_id,
        verdict,
        judgment.confidence,
        bool(judgment.calibrated),
        judgment.calibration,
        judgment.abstained,
        (selective.agreement_target, selective.delta, selective.threshold) if selective else None,
        tuple((s.model, s.decided) for s in judgment.cascade) if judgment.cascade is not None else None,
    )


def gold_labels(labels: Mapping[str, Mapping[str, Label]]) -> dict[str, str]:
    """custom_id → the annotators' majority label as text; lines whose annotators tie have none."""
    gold: dict[str, str] = {}
    for custom_id, by_annotator in labels.items():
        found = majority(list(by_annotator.values()))
        if found is not None:
            gold[custom_id] = str(found)
    return gold


def _judged(lines: Sequence[TrustLine], gold: Mapping[str, str]) -> list[tuple[TrustLine, bool]]:
    """(line, whether its verdict matches the gold) for the labelled lines the judge scored."""
    return [
        (line, line.verdict == gold[line.custom_id])
        for line in lines
        if line.custom_id is not None and line.custom_id in gold and line.verdict is not None
    ]


def _group(
    members: list[tuple[TrustLine, bool]], calibrated: bool, rounds: int, seed: int, level: float
) -> ConfidenceGroup:
    p = np.array([line.confidence for line, _ in members], dtype=np.float64)
    y = np.array([agreed for _, agreed in members], dtype=np.float64)
    ece = bootstrap(expected_calibration_error, p, y, seed, rounds, level)
    brier = bootstrap(brier_score, p, y, seed, rounds, level)
    ids = sorted({line.calibration for line, _ in members if line.calibration}) if calibrated else []
    return ConfidenceGroup(
        calibrated=calibrated,
        calibrations=ids,
        n=len(members),
        agreement=float(y.mean()),
        mean_confidence=float(p.mean()),
        ece=ValueCI(value=ece.value, ci=(ece.low, ece.high)),
        brier=ValueCI(value=brier.value, ci=(brier.low, brier.high)),
        bins=[
            ReliabilityBin(mean_confidence=b.mean_confidence, agreement=b.accuracy, count=b.count)
            for b in reliability_bins(p, y)
        ],
    )


def confidence_section(
    lines: Sequence[TrustLine],
    gold: Mapping[str, str],
    rounds: int,
    seed: int,
    level: float,
    notes: list[str],
) -> ConfidenceQuality | None:
    judged = [(line, agreed) for line, agreed in _judged(lines, gold) if line.confidence is not None]
    if not judged:
        return None
    groups = []
    for calibrated in (True, False):
        members = [(line, agreed) for line, agreed in judged if line.calibrated is calibrated]
        if members:
            groups.append(_group(members, calibrated, max(1, rounds), seed, level))
    kinds = []
    for g in groups:
        if g.calibrated:
            kinds.append(f"{g.n} calibrated (P(a human agrees), calibrators {', '.join(g.calibrations)})")
        else:
            kinds.append(f"{g.n} raw signals (calibrated: false, not probabilities)")
    mixed = " The batch mixes the two kinds: each is measured on its own." if len(groups) > 1 else ""
    notes.append(
        f"Confidence quality over {len(judged)} labelled line(s): {'; '.join(kinds)}.{mixed} "
        "If these labels also fitted the calibrator, the figures flatter it."
    )
    return ConfidenceQuality(n=len(judged), groups=groups)


def _exact(members: list[tuple[TrustLine, bool]], level: float) -> ExactRate:
    agreed = sum(a for _, a in members)
    n = len(members)
    return ExactRate(
        n=n,
        agreed=agreed,
        rate=agreed / n if n else None,
        ci=clopper_pearson(agreed, n, level) if n else None,
    )


def selective_section(
    lines: Sequence[TrustLine], gold: Mapping[str, str] | None, level: float, notes: list[str]
) -> SelectiveSection | None:
    held = [line for line in lines if line.abstained is not None]
    if not held:
        return None
    abstained = sum(bool(line.abstained) for line in held)
    settings = Counter(line.setting for line in held if line.setting is not None)
    accepted_agreement = abstained_agreement = None
    if gold is not None:
        judged = _judged(held, gold)
        accepted_agreement = _exact([m for m in judged if not m[0].abstained], level)
        abstained_agreement = _exact([m for m in judged if m[0].abstained], level)
    target = min((s[0] for s in settings), default=None)
    notes.append(
        f"{abstained} of {len(held)} line(s) held to an agreement target abstained: not counted as "
        "decided (left out of the score distribution, win/tie/loss and leaderboards; counted under "
        "selective)."
    )
    if abstained == len(held):
        notes.append(
            "Every line held to an agreement target abstained: the calibration's labels may not support "
            "the target (see the threshold in selective.settings)."
        )
    if accepted_agreement is not None and accepted_agreement.rate is not None and target is not None:
        low = accepted_agreement.ci[0] if accepted_agreement.ci else 0.0
        where = "below" if accepted_agreement.rate < target else "at or above"
        notes.append(
            f"Agreement with the human labels on accepted lines: {accepted_agreement.rate:.1%} "
            f"(n {accepted_agreement.n}, CI low {low:.1%}), {where} the target {target:.0%}."
        )
    return SelectiveSection(
        lines=len(held),
        accepted=len(held) - abstained,
        abstained=abstained,
        coverage=(len(held) - abstained) / len(held),
        settings=[
            SelectiveSetting(agreement_target=t, delta=d, threshold=th, lines=count)
            for (t, d, th), count in settings.most_common()
        ],
        handling=ABSTAINED_HANDLING,
        accepted_agreement=accepted_agreement,
        abstained_agreement=abstained_agreement,
        target=target,
    )


def cascade_section(lines: Sequence[TrustLine]) -> CascadeSection | None:
    """A stage decided a line when its verdict is the judgment's and the line did not abstain; a line
    that abstained (or where no stage was confident) is ``undecided``: decided + undecided = lines."""
    cascaded = [line for line in lines if line.stages]
    if not cascaded:
        return None
    ran: Counter[tuple[int, str]] = Counter()
    decided: Counter[tuple[int, str]] = Counter()
    undecided = 0
    for line in cascaded:
        stages = line.stages or ()
        for position, (model, was_decided) in enumerate(stages, 1):
            ran[(position, model)] += 1
            decided[(position, model)] += was_decided and not line.abstained
        undecided += bool(line.abstained) or not any(d for _, d in stages)
    order = sorted(ran, key=lambda key: (key[0], -ran[key], key[1]))
    return CascadeSection(
        lines=len(cascaded),
        stages=[
            CascadeStageCount(
                stage=position, model=model, ran=ran[(position, model)], decided=decided[(position, model)]
            )
            for position, model in order
        ],
        undecided=undecided,
        mean_calls=float(np.mean([len(line.stages or ()) for line in cascaded])),
    )
