"""``jurist eval --agreement-target``: selective verdicts of a judge whose judgments are in a file, with the
threshold fitted on one labelled set (the calibration set) and checked on the evaluated one.

Judgment files (JSONL or a JSON list) hold per item ``id`` (or PandaLM's ``idx``), ``result`` (1, 2 or
tie; PandaLM's ``gpt_result``/``pandalm_result`` too), optionally ``result_swapped`` (the verdict with the
answers shown the other way round, mapped back to the given order) and ``confidence`` (any number that
ranks verdicts by how sure the judge is). The verdict is ``result``. Its confidence signal is
``confidence`` when given, else swap consistency (1 when ``result_swapped`` equals ``result``, else 0).
Items without a verdict are never accepted and are left out of the calibration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jurist.evaluation.calibration import fit_calibrator
from jurist.evaluation.datasets import Label, PairItem, judgment_records, parse_label
from jurist.evaluation.reliability import calibration_quality
from jurist.evaluation.selective import choose_threshold


@dataclass(frozen=True)
class JudgedItem:
    result: Label
    swapped: Label = None
    confidence: float | None = None

    @property
    def signal(self) -> float | None:
        if self.confidence is not None:
            return self.confidence
        if self.swapped is None or self.result is None:
            return None
        return 1.0 if self.swapped == self.result else 0.0


def load_judged(path: Path) -> dict[str, JudgedItem]:
    out: dict[str, JudgedItem] = {}
    for number, key, record in judgment_records(path):
        value = next((record[k] for k in ("result", "gpt_result", "pandalm_result") if k in record), None)
        confidence = record.get("confidence")
        if confidence is not None and (
            isinstance(confidence, bool) or not isinstance(confidence, int | float)
        ):
            raise ValueError(
                f"{path.name} record {number + 1}: confidence must be a number, not {confidence!r}"
            )
        swapped = parse_label(record["result_swapped"]) if "result_swapped" in record else None
        out[key] = JudgedItem(parse_label(value), swapped, None if confidence is None else float(confidence))
    return out


def _pairs(
    items: Sequence[PairItem], judged: dict[str, JudgedItem], name: str
) -> tuple[list[float], list[bool]]:
    """(signal, agreed) of the items with a verdict; ValueError when one has no confidence signal."""
    signal: list[float] = []
    agreed: list[bool] = []
    for item in items:
        found = judged.get(item.id)
        if found is None or found.result is None:
            continue
        if found.signal is None:
            raise ValueError(
                f"{name}: item {item.id} has no confidence signal (give confidence or result_swapped)"
            )
        signal.append(found.signal)
        agreed.append(found.result == item.label)
    return signal, agreed


def selective_report(
    calibration: Sequence[PairItem],
    calibration_judged: dict[str, JudgedItem],
    items: Sequence[PairItem],
    judged: dict[str, JudgedItem],
    target: float,
    delta: float,
) -> dict[str, object]:
    """Threshold from the calibration set, then coverage and agreement on the evaluated items."""
    cal_signal, cal_agreed = _pairs(calibration, calibration_judged, "calibration judgments")
    test_signal, test_agreed = _pairs(items, judged, "judgments")
    selection = choose_threshold(cal_signal, cal_agreed, target, delta)
    on_test = selection.apply(test_signal, test_agreed)
    test = on_test.as_dict() | {
        "items": len(items),
        "coverage": on_test.accepted / len(items) if items else 0.0,
    }
    agreement = on_test.agreement
    out: dict[str, object] = selection.as_dict() | {"test": test}
    out["guarantee_held"] = agreement is None or agreement >= target
    if cal_signal and test_signal:
        calibrator = fit_calibrator(cal_signal, cal_agreed, fitted_on="calibration set")
        out["calibrator"] = calibrator.as_dict()
        out["test_calibration"] = calibration_quality(
            calibrator.apply_many(test_signal), test_agreed
        ).as_dict()
    return out
