"""``jurist eval --agreement-target``: selective verdicts of a judge whose judgments are in a file, with the
threshold fitted on one labelled set (the calibration set) and checked on the evaluated one.

Judgment files (JSONL or a JSON list) hold per item ``id`` (or PandaLM's ``idx``), ``result`` (1, 2 or
tie; PandaLM's ``gpt_result``/``pandalm_result`` too), optionally ``result_swapped`` (the verdict with the
answers shown the other way round, mapped back to the given order) and ``confidence`` (any number that
ranks verdicts by how sure the judge is). The verdict is ``result``. Its confidence signal is
``confidence`` when given, else swap consistency (1 when ``result_swapped`` equals ``result``, else 0).

An item is **undecided** when its judgment lacks one order (no ``confidence`` and no ``result_swapped``)
or has no verdict (unparseable, or absent from the judgments file). It is neither refused nor dropped:
it stays in the counts, in the calibration set and the evaluated set alike, with the lowest confidence
(0, the bottom of swap consistency's scale, or the lowest given ``confidence`` when one is
below 0), so it is abstained on whenever anything is. One with a verdict agrees when that verdict is
the label; one without a verdict counts as disagreed with (conservative: accepting it accepts no
verdict a human could agree with). The report counts them (``undecided``, ``undecided_ids``) per set.
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


@dataclass(frozen=True)
class Points:
    """(signal, agreed) per item of a set, and which items were undecided (see the module)."""

    signal: list[float]
    agreed: list[bool]
    undecided: list[str]

    def counts(self) -> dict[str, object]:
        return {"undecided": len(self.undecided), "undecided_ids": list(self.undecided)}


def _known(items: Sequence[PairItem], judged: dict[str, JudgedItem]) -> list[float | None]:
    """Each item's confidence signal, ``None`` when it is undecided."""
    out: list[float | None] = []
    for item in items:
        found = judged.get(item.id)
        out.append(None if found is None or found.result is None else found.signal)
    return out


def _floor(*signals: Sequence[float | None]) -> float:
    """The lowest confidence: 0, or the lowest known signal of the sets when one is below 0."""
    return min([0.0, *(s for found in signals for s in found if s is not None)])


def _points(
    items: Sequence[PairItem], judged: dict[str, JudgedItem], lowest: float, known: Sequence[float | None]
) -> Points:
    """Every item's point; an undecided one gets ``lowest`` (and disagrees when it has no verdict)."""
    signal: list[float] = []
    agreed: list[bool] = []
    undecided: list[str] = []
    for item, value in zip(items, known, strict=True):
        found = judged.get(item.id)
        verdict = None if found is None else found.result
        if value is None:
            undecided.append(item.id)
        signal.append(lowest if value is None else value)
        agreed.append(verdict is not None and verdict == item.label)
    return Points(signal, agreed, undecided)


def selective_report(
    calibration: Sequence[PairItem],
    calibration_judged: dict[str, JudgedItem],
    items: Sequence[PairItem],
    judged: dict[str, JudgedItem],
    target: float,
    delta: float,
) -> dict[str, object]:
    """Threshold from the calibration set, then coverage and agreement on the evaluated items. Every item
    of both sets counts; the undecided ones (see the module) at the lowest confidence."""
    cal_known, test_known = _known(calibration, calibration_judged), _known(items, judged)
    lowest = _floor(cal_known, test_known)
    cal = _points(calibration, calibration_judged, lowest, cal_known)
    test = _points(items, judged, lowest, test_known)
    selection = choose_threshold(cal.signal, cal.agreed, target, delta)
    on_test = selection.apply(test.signal, test.agreed)
    out: dict[str, object] = selection.as_dict()
    out["calibration"] = selection.calibration.as_dict() | cal.counts()
    out["test"] = on_test.as_dict() | test.counts()
    agreement = on_test.agreement
    out["guarantee_held"] = agreement is None or agreement >= target
    if cal.signal and test.signal:
        calibrator = fit_calibrator(cal.signal, cal.agreed, fitted_on="calibration set")
        out["calibrator"] = calibrator.as_dict()
        out["test_calibration"] = calibration_quality(
            calibrator.apply_many(test.signal), test.agreed
        ).as_dict()
    return out
