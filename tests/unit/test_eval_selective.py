"""``jurist eval --agreement-target``: threshold fitted on one labelled set, checked on another."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from jurist.cli.main import app
from jurist.evaluation.synthetic import SyntheticJudge


def write_set(folder: Path, name: str, n: int, seed: int, swapped: bool = False) -> tuple[Path, Path]:
    """Labelled pairs and a synthetic judge's judgments of them (agreement = 0.5 + 0.5·confidence)."""
    signal, agreed = SyntheticJudge().draw(n, seed)
    labels = np.random.default_rng(seed + 100).integers(1, 3, n)
    pairs = folder / f"{name}.jsonl"
    judged = folder / f"{name}-judgments.jsonl"
    pairs.write_text(
        "".join(
            json.dumps({"id": f"{name}{i}", "question": "q", "answer1": "a", "answer2": "b", "label": int(y)})
            + "\n"
            for i, y in enumerate(labels)
        )
    )
    lines = []
    for i, (s, ok, y) in enumerate(zip(signal, agreed, labels, strict=True)):
        result = int(y) if ok else 3 - int(y)
        record: dict[str, object] = {"id": f"{name}{i}", "result": result}
        if swapped:
            record["result_swapped"] = result if s > 0.5 else 3 - result
        else:
            record["confidence"] = float(s)
        lines.append(json.dumps(record) + "\n")
    judged.write_text("".join(lines))
    return pairs, judged


def run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["eval", *args])
    return result.exit_code, result.output


def test_selective_verdicts_are_reported_in_json(tmp_path: Path) -> None:
    cal, cal_judged = write_set(tmp_path, "cal", 1000, seed=3)
    test, test_judged = write_set(tmp_path, "test", 1000, seed=2)
    out = tmp_path / "report.json"
    code, output = run([
        str(test), "--judgments", str(test_judged), "--agreement-target", "0.9", "--delta", "0.1",
        "--calibration", str(cal), "--calibration-judgments", str(cal_judged), "--json", str(out),
    ])  # fmt: skip
    assert code == 0, output
    assert "selective verdicts" in output and "coverage" in output
    report = json.loads(out.read_text())
    found = report["selective"]
    assert found["agreement_target"] == 0.9 and found["delta"] == 0.1
    assert 0.5 < found["threshold"] < 1.0  # the oracle is 0.6; the test is conservative
    test_part = found["test"]
    assert test_part["items"] == 1000 and 0.15 < test_part["coverage"] < 0.4
    low, high = test_part["agreement_ci"]
    assert low <= test_part["agreement"] <= high
    assert found["guarantee_held"] == (test_part["agreement"] >= 0.9)
    assert found["calibrator"]["kind"] == "isotonic"
    assert found["test_calibration"]["ece"]["value"] < 0.1
    assert "accuracy" in report["judge"]  # the usual report is still there


def test_an_unlucky_calibration_set_abstains_with_the_reason(tmp_path: Path) -> None:
    cal, cal_judged = write_set(tmp_path, "cal", 1000, seed=1)  # 2 of its 50 most confident are wrong
    test, test_judged = write_set(tmp_path, "test", 200, seed=2)
    out = tmp_path / "report.json"
    code, output = run([
        str(test), "--judgments", str(test_judged), "--agreement-target", "0.9",
        "--calibration", str(cal), "--calibration-judgments", str(cal_judged), "--json", str(out),
    ])  # fmt: skip
    assert code == 0, output
    found = json.loads(out.read_text())["selective"]
    assert found["threshold"] is None and "2 of 50" in found["reason"]
    assert found["test"]["accepted"] == 0 and found["test"]["coverage"] == 0.0
    assert found["guarantee_held"] is True  # abstaining on everything breaks no promise


def test_swap_consistency_is_the_signal_without_confidence(tmp_path: Path) -> None:
    cal, cal_judged = write_set(tmp_path, "cal", 600, seed=3, swapped=True)
    test, test_judged = write_set(tmp_path, "test", 600, seed=4, swapped=True)
    out = tmp_path / "report.json"
    code, output = run([
        str(test), "--judgments", str(test_judged), "--agreement-target", "0.8",
        "--calibration", str(cal), "--calibration-judgments", str(cal_judged), "--json", str(out),
    ])  # fmt: skip
    assert code == 0, output
    found = json.loads(out.read_text())["selective"]
    assert found["threshold"] == 1.0  # consistent items (agreement 0.875) pass, the rest (0.625) do not
    assert 0.4 < found["test"]["coverage"] < 0.6


def test_bad_requests_are_refused(tmp_path: Path) -> None:
    cal, cal_judged = write_set(tmp_path, "cal", 50, seed=5)
    common = [str(cal), "--judgments", str(cal_judged), "--calibration", str(cal)]
    code, output = run([*common, "--calibration-judgments", str(cal_judged), "--agreement-target", "1.2"])
    assert code == 2 and "agreement_target must be in (0.5, 1)" in output
    code, output = run([*common, "--calibration-judgments", str(cal_judged), "--agreement-target", "0.9",
                        "--delta", "0"])  # fmt: skip
    assert code == 2 and "delta must be in (0, 1)" in output
    code, output = run([*common, "--agreement-target", "0.9"])
    assert code == 2 and "--calibration-judgments" in output


def drop_swapped(judged: Path, ids: set[str]) -> None:
    """The judgments of ``ids`` lose their second order (``result_swapped``)."""
    records = [json.loads(line) for line in judged.read_text().splitlines()]
    for record in records:
        if record["id"] in ids:
            del record["result_swapped"]
    judged.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_judgments_with_a_side_missing_are_counted_as_undecided(tmp_path: Path) -> None:
    """3 calibration judgments and 2 evaluated ones lack one order: the run goes on, names and counts
    them, and they are in the items (at the lowest confidence, so never above the threshold of 1)."""
    cal, cal_judged = write_set(tmp_path, "cal", 600, seed=3, swapped=True)
    test, test_judged = write_set(tmp_path, "test", 600, seed=4, swapped=True)
    drop_swapped(cal_judged, {"cal31", "cal7", "cal400"})
    drop_swapped(test_judged, {"test5", "test6"})
    out = tmp_path / "report.json"
    code, output = run([
        str(test), "--judgments", str(test_judged), "--agreement-target", "0.8",
        "--calibration", str(cal), "--calibration-judgments", str(cal_judged), "--json", str(out),
    ])  # fmt: skip
    assert code == 0, output
    said = " ".join(output.split())
    assert "3 of 600 items undecided" in said and "cal7, cal31, cal400" in said
    assert "evaluated set: 2 of 600 items undecided" in said and "test5, test6" in said
    found = json.loads(out.read_text())["selective"]
    assert found["threshold"] == 1.0
    assert found["calibration"]["items"] == 600 and found["calibration"]["undecided"] == 3
    assert found["calibration"]["undecided_ids"] == ["cal7", "cal31", "cal400"]
    assert found["test"]["items"] == 600 and found["test"]["undecided"] == 2
    assert found["test"]["undecided_ids"] == ["test5", "test6"]
    assert found["calibrator"]["n"] == 600


def test_judgments_without_any_signal_abstain_on_everything_rather_than_fail(tmp_path: Path) -> None:
    cal, cal_judged = write_set(tmp_path, "cal", 50, seed=5)
    bare = tmp_path / "bare.jsonl"
    bare.write_text('{"id": "cal0", "result": 1}\n')  # the other 49 have no judgment at all
    out = tmp_path / "report.json"
    code, output = run([
        str(cal), "--judgments", str(cal_judged), "--agreement-target", "0.9",
        "--calibration", str(cal), "--calibration-judgments", str(bare), "--json", str(out),
    ])  # fmt: skip
    assert code == 0, output
    assert "50 of 50 items undecided" in " ".join(output.split())
    found = json.loads(out.read_text())["selective"]
    assert found["calibration"]["undecided"] == 50 and found["threshold"] is None
    assert found["test"]["undecided"] == 0 and found["test"]["accepted"] == 0
