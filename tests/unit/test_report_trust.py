"""The report's trust sections on crafted output lines (built with the judgment model): confidence quality
against human labels, selective verdicts (abstained lines not counted as decided), cascade stage counts,
and the table / HTML renderers of those sections and of the agreement section."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rich.console import Console

from jurist.evaluation.agreement import CriterionAgreement, LabeledLine, agreement
from jurist.evaluation.binomial import clopper_pearson
from jurist.evaluation.report import build_report
from jurist.evaluation.report_html import CHART_IDS, render_html
from jurist.evaluation.report_table import print_report
from jurist.evaluation.report_trust_rows import trust_tables
from tests.support.report_lines import arena, pair_input, pair_output
from tests.support.trust_lines import SETTING, cascade_of, trust_batch, trusted_pair, trusted_single


def test_confidence_quality_measures_calibrated_and_raw_confidences_apart() -> None:
    outputs, labels = trust_batch()
    report = build_report(outputs, labels=labels, rounds=300, seed=1)
    quality = report.confidence
    assert quality is not None and quality.n == 12  # the labelled lines t0–t7 and r0–r3 (not the c-lines)
    calibrated, raw = quality.groups
    assert calibrated.calibrated and calibrated.calibrations == ["cal_abc"] and calibrated.n == 8
    assert not raw.calibrated and raw.calibrations == [] and raw.n == 4
    # t-lines: the judge says "1"; the humans agree except on t3 (0.8) and t6 (0.5)
    confidences = [0.95, 0.9, 0.85, 0.8, 0.75, 0.72, 0.5, 0.4]
    agreed = [1, 1, 1, 0, 1, 1, 0, 1]
    brier = sum((p - y) ** 2 for p, y in zip(confidences, agreed, strict=True)) / 8
    assert calibrated.brier.value == pytest.approx(brier)
    assert calibrated.agreement == 0.75 and calibrated.mean_confidence == pytest.approx(sum(confidences) / 8)
    # 8 lines → 8 equal-mass bins of one line each: ECE is the mean |p − y|
    assert len(calibrated.bins) == 8 and [b.count for b in calibrated.bins] == [1] * 8
    assert calibrated.ece.value == pytest.approx(
        sum(abs(p - y) for p, y in zip(confidences, agreed, strict=True)) / 8
    )
    assert calibrated.ece.ci[0] <= calibrated.ece.ci[1] and calibrated.brier.ci[0] <= brier + 0.2
    # r-lines: the judge says 4, 4, 3, 3; the majority of (4, 4, 2) is 4
    assert raw.agreement == 0.5 and raw.brier.value == pytest.approx((0 + 0.04 + 0.36 + 0.09) / 4)
    note = next(n for n in report.notes if n.startswith("Confidence quality"))
    assert "calibrators cal_abc" in note and "raw signals (calibrated: false" in note and "mixes" in note


def test_confidence_quality_of_raw_signals_only_says_so_and_needs_labels() -> None:
    outputs = [trusted_single(f"r{i}", 4, 0.6) for i in range(3)]
    labels = {"r0": {"a": 4}, "r1": {"a": 5}, "r2": {"a": 4, "b": 5}}  # r2's annotators tie: no gold
    report = build_report(outputs, labels=labels, rounds=50)
    assert report.confidence is not None and report.confidence.n == 2
    (group,) = report.confidence.groups
    assert not group.calibrated and group.agreement == 0.5
    note = next(n for n in report.notes if n.startswith("Confidence quality"))
    assert "2 raw signals" in note and "mixes" not in note and "calibrated (" not in note
    unlabelled = build_report(outputs, rounds=50)
    assert unlabelled.confidence is None and "confidence" not in unlabelled.model_dump(mode="json")


def test_abstained_lines_are_counted_apart_and_left_out_of_the_decided_figures() -> None:
    inputs, outputs = arena({"alpha": 1.0, "beta": 0.0}, 20, seed=2)
    for i, confidence in enumerate([0.9, 0.8, 0.3, 0.2, 0.1]):  # the last three abstain (threshold 0.7)
        inputs.append(pair_input(f"s{i}", "a", "b", "beta", "alpha"))
        outputs.append(trusted_pair(f"s{i}", "response_1", confidence, "cal_abc", SETTING))
    report = build_report(outputs, inputs, rounds=100)
    without = build_report(outputs[:22], inputs, rounds=100)  # the arena and the two accepted lines only
    pair = report.pairwise
    assert pair is not None and without.pairwise is not None
    assert pair.n == 22 and pair.outcomes == without.pairwise.outcomes
    assert pair.leaderboard == without.pairwise.leaderboard
    assert report.lines.pairwise == 25 and report.lines.judged == 25  # still judged lines
    assert report.health.first_shown_wins is not None and report.health.first_shown_wins.n == 25
    section = report.selective
    assert section is not None
    assert (section.lines, section.accepted, section.abstained) == (5, 2, 3)
    assert section.coverage == pytest.approx(0.4) and section.target == 0.8
    assert [(s.agreement_target, s.delta, s.threshold, s.lines) for s in section.settings] == [
        (0.8, 0.1, 0.7, 5)
    ]
    assert section.accepted_agreement is None and section.abstained_agreement is None  # no labels
    assert "not counted as decided" in section.handling
    assert any("3 of 5 line(s) held to an agreement target abstained" in n for n in report.notes)
    data = report.model_dump(mode="json")
    assert data["selective"]["abstained"] == 3 and "cascade" not in data and "agreement" not in data


def test_agreement_on_accepted_and_abstained_lines_with_exact_intervals() -> None:
    outputs, labels = trust_batch()
    section = build_report(outputs, labels=labels, rounds=50).selective
    assert section is not None and section.lines == 8 and section.abstained == 2
    accepted, abstained = section.accepted_agreement, section.abstained_agreement
    assert accepted is not None and (accepted.n, accepted.agreed) == (6, 5)
    assert accepted.rate == pytest.approx(5 / 6) and accepted.ci == clopper_pearson(5, 6)
    assert abstained is not None and (abstained.n, abstained.agreed) == (2, 1)
    assert abstained.ci == clopper_pearson(1, 2)


def test_a_batch_where_every_line_abstained_has_no_decided_section() -> None:
    outputs = [trusted_pair(f"a{i}", "response_2", 0.1, "cal_abc", SETTING) for i in range(3)]
    report = build_report(outputs, rounds=20)
    assert report.pairwise is None and report.lines.pairwise == 3
    assert report.selective is not None and report.selective.coverage == 0.0
    assert any(n.startswith("Every line held to an agreement target abstained") for n in report.notes)


def test_cascade_stage_counts_and_calls_per_line() -> None:
    outputs = [trusted_pair(f"c{i}", "response_1", 0.9, "cal_abc", cascade=cascade_of(d))
               for i, d in enumerate([0, 0, 0, 1, None])]  # fmt: skip
    outputs.append(pair_output("plain", "response_2"))
    # the last stage's verdict is the judgment's, but below the agreement target's threshold: abstained
    last = cascade_of(1)
    outputs.append(trusted_pair("held", "response_1", 0.6, "cal_abc", SETTING, cascade=last))
    cascade = build_report(outputs, rounds=20).cascade
    assert cascade is not None and cascade.lines == 6
    assert [(s.stage, s.model, s.ran, s.decided) for s in cascade.stages] == [
        (1, "pai-judge", 6, 3),
        (2, "pai-judge-plus", 3, 1),
    ]
    assert cascade.undecided == 2 and cascade.mean_calls == pytest.approx(9 / 6)


def test_lines_without_trust_fields_give_no_trust_sections() -> None:
    data = build_report([pair_output("p", "response_1")], rounds=20).model_dump(mode="json")
    assert list(data) == ["lines", "failures_by_code", "judge_models", "single", "pairwise", "health",
                          "method", "notes"]  # fmt: skip


def labelled_report() -> Any:
    outputs, labels = trust_batch()
    lines = [
        LabeledLine("t0", "pairwise", "1", {"a": "1", "b": "1"}, True, True),
        LabeledLine("t1", "pairwise", "2", {"a": "1", "b": "2", "c": "1"}, False, False),
        LabeledLine("t2", "pairwise", "tie", {"a": "tie"}, None, True),
        LabeledLine("r0", "single", 4, {"a": 4, "b": 3, "c": 4}),
    ]
    found = agreement(lines, rounds=50)
    assert found.single is not None
    criteria = [CriterionAgreement(name="Accuracy", n=1, exact=1.0, within_1=1.0, kendall_tau_b=None)]
    found = found.model_copy(update={"single": found.single.model_copy(update={"criteria": criteria})})
    report = build_report(outputs, labels=labels, rounds=50)
    return report.model_copy(update={"agreement": found})


def test_the_table_shows_every_trust_section() -> None:
    console = Console(width=160, record=True)
    print_report(labelled_report(), console)
    text = console.export_text()
    for title in ("Agreement with human labels (pairwise)", "Judge vs human majority (pairwise)",
                  "Confusion matrix (pairwise)", "Per-criterion agreement (single)",
                  "Confidence vs human agreement", "Selective verdicts", "Cascade: 4 lines, 1.50 calls"):  # fmt: skip
        assert title in text, title
    assert "swap inconsistent" in text and "ensemble unanimous" in text and "calibrated (cal_abc)" in text
    assert "83.3% [35.9–99.6]" in text  # accepted agreement, Clopper–Pearson


def test_the_trust_tables_carry_the_figures() -> None:
    tables = {t.title: t for t in trust_tables(labelled_report())}
    matrix = tables["Confusion matrix (pairwise): human majority (rows) × judge (columns)"]
    assert matrix.headers == ["gold \\ judge", "1", "2", "tie"]
    assert matrix.rows == [["1", "1", "1", "0"], ["tie", "0", "0", "1"]]
    judge = tables["Judge vs human majority (pairwise)"].rows
    assert judge[0][:3] == ["all lines", "3", judge[0][2]] and judge[0][2].startswith("66.7%")
    assert [row[0] for row in judge] == ["all lines", "swap consistent", "swap inconsistent",
                                         "ensemble unanimous", "ensemble split"]  # fmt: skip
    assert tables["Per-criterion agreement (single): judge vs human majority"].rows == [
        ["Accuracy", "1", "100.0%", "100.0%", "–"]
    ]
    cascade = tables["Cascade: 4 lines, 1.50 calls per line"].rows
    assert cascade == [["1", "pai-judge", "4", "2"], ["2", "pai-judge-plus", "2", "1"],
                       ["", "no stage confident (abstained)", "", "1"]]  # fmt: skip


def test_html_has_the_reliability_diagram_and_the_trust_tables() -> None:
    report = labelled_report()
    page = render_html(report)
    assert f'id="{CHART_IDS["reliability"]}"' in page and "perfectly calibrated" in page
    assert "Confusion matrix (pairwise)" in page and "Selective verdicts" in page
    assert "not counted as decided" in page  # the note
    json.dumps(report.model_dump(mode="json"), allow_nan=False)
    plain = render_html(build_report([pair_output("p", "response_1")], rounds=20))
    assert CHART_IDS["reliability"] not in plain and "Selective verdicts" not in plain
