"""Batch output lines whose judgments carry the trust fields (confidence, calibration, selective,
abstained, cascade), built with the judgment model the service writes (``protocol.judgment``)."""

from __future__ import annotations

from typing import Any

from jurist.protocol.judgment import CascadeStage, PairwiseJudgment, Selective, SingleJudgment
from tests.support.report_lines import output_line, pair_judgment, single_output

SETTING = Selective(agreement_target=0.8, delta=0.1, threshold=0.7)


def trusted_pair(
    custom_id: str,
    winner: str,
    confidence: float,
    calibration: str | None = None,
    selective: Selective | None = None,
    cascade: list[CascadeStage] | None = None,
) -> dict[str, Any]:
    """A scored pairwise line; ``calibration`` set: the confidence is calibrated by that calibrator.
    With ``selective``, the line abstains when its confidence is below the threshold."""
    base = PairwiseJudgment.model_validate(pair_judgment(winner))
    judgment = base.model_copy(
        update={
            "confidence": confidence,
            "calibrated": calibration is not None,
            "raw_confidence": confidence / 2 if calibration is not None else None,
            "calibration": calibration,
            "selective": selective,
            "abstained": None if selective is None else confidence < selective.threshold,
            "cascade": cascade,
        }
    )
    return output_line(custom_id, judgment.model_dump(mode="json"))


def trusted_single(custom_id: str, overall: int, confidence: float) -> dict[str, Any]:
    """A scored single line with a raw (uncalibrated) confidence."""
    plain = single_output(custom_id, overall, {"Accuracy": overall})["response"]["body"]["judgment"]
    judgment = SingleJudgment.model_validate(plain).model_copy(
        update={"confidence": confidence, "calibrated": False}
    )
    return output_line(custom_id, judgment.model_dump(mode="json"))


def stage(model: str, verdict: str, confidence: float, threshold: float, decided: bool) -> CascadeStage:
    return CascadeStage(
        model=model,
        verdict=verdict,
        confidence=confidence,
        calibrated=True,
        calibration="cal_x",
        threshold=threshold,
        decided=decided,
    )


def cascade_of(decided_at: int | None) -> list[CascadeStage]:
    """pai-judge, then pai-judge-plus; ``decided_at`` 0 or 1 is the confident stage, None: neither."""
    first = stage("pai-judge", "response_1", 0.9 if decided_at == 0 else 0.5, 0.8, decided_at == 0)
    if decided_at == 0:
        return [first]
    return [first, stage("pai-judge-plus", "response_1", 0.95 if decided_at else 0.6, 0.85, decided_at == 1)]


def trust_batch() -> tuple[list[dict[str, Any]], dict[str, dict[str, str | int]]]:
    """(output lines, labels) of a labelled batch: calibrated and raw confidences, selective lines
    (accepted and abstained), cascade lines decided at each stage or not at all."""
    outputs: list[dict[str, Any]] = []
    labels: dict[str, dict[str, str | int]] = {}
    # selective, calibrated: confidence ≥ 0.7 accepted; the humans agree with 5 of the 6 accepted
    for i, (confidence, gold) in enumerate(
        [(0.95, "1"), (0.9, "1"), (0.85, "1"), (0.8, "2"), (0.75, "1"), (0.72, "1"), (0.5, "2"), (0.4, "1")]
    ):
        outputs.append(trusted_pair(f"t{i}", "response_1", confidence, "cal_abc", SETTING))
        labels[f"t{i}"] = {"ann1": gold, "ann2": gold}
    # cascade lines (calibrated, no selective): decided by stage 1, stage 2, neither
    for i, decided_at in enumerate([0, 0, 1, None]):
        abstained_line = trusted_pair(f"c{i}", "response_1", 0.9 if decided_at is not None else 0.6,
                                      "cal_abc", cascade=cascade_of(decided_at))  # fmt: skip
        outputs.append(abstained_line)
    # raw signals on single lines: the judge says 3 or 4; the human majority says 4
    for i, (overall, confidence) in enumerate([(4, 1.0), (4, 0.8), (3, 0.6), (3, 0.3)]):
        outputs.append(trusted_single(f"r{i}", overall, confidence))
        labels[f"r{i}"] = {"ann1": 4, "ann2": 4, "ann3": 2}
    return outputs, labels
