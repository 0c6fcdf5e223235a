"""The raw confidence signal of a judgment: one number in [0, 1] that should rank verdicts by how likely a
human agrees with them. It is **not** a probability (``calibrated: false``): only a calibrator fitted on
labelled items (``evaluation.calibration``) turns it into one.

Formula (fixed; a change is a new signal version):

    signal = rung · mean(available components), or rung · 0.5 when no component is available

Components, each in [0, 1], used only when the judgment has them:
- swap consistency (pairwise): 1 when both orders gave the same winner, 0 when they disagreed;
- ensemble vote share: the share of scored games that voted for the final verdict;
- expected-score margin (from token probabilities): pairwise, |E₁ − E₂| / (max − min) for a winner and
  1 minus that for a tie; single, 1 − 2·|E − overall score| clipped at 0 (how concentrated the score
  distribution is around the verdict).
Rung (how the verdict was parsed): json 1.0, repair_json 0.9, text 0.8, repair_text 0.7.
An unscored judgment has no verdict to trust: ``None``.
"""

from __future__ import annotations

from jurist.protocol.judgment import PairwiseJudgment, SingleJudgment

SIGNAL_VERSION = 1
RUNG = {"json": 1.0, "repair_json": 0.9, "text": 0.8, "repair_text": 0.7}


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def components(judgment: SingleJudgment | PairwiseJudgment) -> dict[str, float]:
    out: dict[str, float] = {}
    low, high = judgment.score_range
    span = float(high - low) or 1.0
    if isinstance(judgment, PairwiseJudgment):
        if judgment.swap is not None and judgment.swap.consistent is not None:
            out["swap_consistency"] = 1.0 if judgment.swap.consistent else 0.0
        if judgment.ensemble is not None and judgment.ensemble.agreement is not None:
            out["vote_share"] = _clip(judgment.ensemble.agreement)
        if judgment.expected_score is not None:
            gap = _clip(abs(judgment.expected_score.response_1 - judgment.expected_score.response_2) / span)
            out["margin"] = 1.0 - gap if judgment.winner == "tie" else gap
    else:
        if judgment.ensemble is not None and judgment.ensemble.agreement is not None:
            out["vote_share"] = _clip(judgment.ensemble.agreement)
        if judgment.expected_score is not None and judgment.overall_score is not None:
            out["margin"] = _clip(1.0 - 2.0 * abs(judgment.expected_score - judgment.overall_score))
    return out


def raw_confidence(judgment: SingleJudgment | PairwiseJudgment) -> float | None:
    """The documented signal above, or ``None`` for an unscored judgment."""
    if not judgment.scored or judgment.parsed_by is None or judgment.parsed_by not in RUNG:
        return None
    found = components(judgment)
    base = sum(found.values()) / len(found) if found else 0.5
    return RUNG[judgment.parsed_by] * base
