"""Batch reports: every figure on hand-built lines whose answers are known, and the ``jurist report`` CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from jurist.cli.main import app
from jurist.evaluation.metrics import bootstrap_ratio_ci
from jurist.evaluation.report import ReportBuilder, build_report
from jurist.evaluation.report_html import CHART_IDS, render_html
from jurist.evaluation.report_model import CI, LeaderboardRow, LineCounts, MeanCI, Outcomes, Report
from tests.support.report_lines import (
    arena,
    custom_output,
    ensemble,
    error_line,
    pair_input,
    pair_output,
    single_output,
    swapped_output,
)
from tests.support.trust_lines import trust_batch


def within(ci: CI | None, value: float | None) -> bool:
    return ci is not None and value is not None and ci[0] - 1e-12 <= value <= ci[1] + 1e-12


def leaderboard_of(report: Report) -> list[LeaderboardRow]:
    assert report.pairwise is not None and report.pairwise.leaderboard is not None, report.notes
    return report.pairwise.leaderboard


def test_pairwise_outcomes_win_rate_and_parse_failures() -> None:
    winners = ["response_1", "response_1", "response_1", "tie", "response_2", "response_2"]
    outputs = [pair_output(f"p{i}", w) for i, w in enumerate(winners)] + [pair_output("bad", None)]
    report = build_report(outputs)
    pair = report.pairwise
    assert pair is not None and pair.n == 7 and pair.scored == 6 and pair.unscored == 1
    assert pair.outcomes == Outcomes(response_1=3, tie=1, response_2=2)
    assert pair.win_rate == pytest.approx(3.5 / 6)  # a tie is half a win
    assert within(pair.win_rate_ci, pair.win_rate)
    health = report.health
    assert health.parse_failures == 1 and health.parse_failure_rate == pytest.approx(1 / 7)
    assert health.parsed_by == {"json": 6, "unscored": 1}
    accuracy = next(c for c in pair.criteria if c.name == "Accuracy")
    assert accuracy.response_1.mean == 4 and accuracy.response_2.mean == 3
    timeliness = next(c for c in pair.criteria if c.name == "Timeliness")
    assert timeliness.response_1 == MeanCI(mean=None, ci=None, n=0)  # N/A everywhere: no made-up mean
    assert health.swap_consistency is None
    assert any("swap" in n for n in report.notes)
    json.dumps(report.model_dump(mode="json"), allow_nan=False)  # strict JSON: no NaN anywhere


def test_first_shown_wins_counts_each_game_in_the_order_it_was_shown() -> None:
    outputs = [
        swapped_output(
            "a", "response_1", "response_1"
        ),  # as given: first won; swapped: answer2 shown first, lost
        swapped_output("b", "response_1", "response_2"),  # both games won by the answer shown first
        swapped_output("c", "tie", "response_2"),  # tie not decisive; swapped: answer2 (first shown) won
        swapped_output("d", None, "response_1"),  # as given unscored; swapped: first shown lost
        pair_output("e", "response_2"),  # no swap: shown as given, second shown won
    ]
    health = build_report(outputs).health
    first, consistency = health.first_shown_wins, health.swap_consistency
    assert first is not None and first.n == 7 and first.rate == pytest.approx(4 / 7)
    assert within(first.ci, 4 / 7)
    # consistency over lines where both games were scored: a agrees; b and c disagree; d is unknown
    assert consistency is not None and consistency.n == 3 and consistency.rate == pytest.approx(1 / 3)


def test_longer_wins_uses_utf8_length_and_skips_ties_and_equal_lengths() -> None:
    inputs = [
        pair_input("l1", "a long answer", "s"),
        pair_input("l2", "s", "a long answer"),
        pair_input("l3", "s", "a long answer"),
        pair_input("l4", "a long answer", "s"),
        pair_input("l5", "same", "size"),
        pair_input("l6", "ééé", "abcde"),  # 6 UTF-8 bytes vs 5: answer1 is the longer one
    ]
    outputs = [
        pair_output("l1", "response_1"),  # longer won
        pair_output("l2", "response_2"),  # longer won
        pair_output("l3", "response_1"),  # shorter won
        pair_output("l4", "tie"),  # not decisive
        pair_output("l5", "response_1"),  # equal lengths
        pair_output("l6", "response_1"),  # longer (in bytes) won
    ]
    longer = build_report(outputs, inputs).health.longer_wins
    assert longer is not None and longer.n == 4 and longer.rate == pytest.approx(0.75)
    without = build_report(outputs)
    assert without.health.longer_wins is None
    assert without.pairwise is not None and without.pairwise.leaderboard is None
    assert any("P(longer wins)" in n for n in without.notes)
    assert any("No leaderboard" in n for n in without.notes)


def test_leaderboard_orders_lopsided_battles_with_cis() -> None:
    inputs, outputs = arena({"alpha": 1.5, "beta": 0.0, "gamma": -1.5}, 600, seed=1)
    board = leaderboard_of(build_report(reversed(outputs), inputs, rounds=200))  # any line order
    assert [r.model for r in board] == ["alpha", "beta", "gamma"]
    for r in board:
        assert r.ci[0] <= r.rating <= r.ci[1]
    assert board[0].ci[0] > board[1].ci[1] and board[1].ci[0] > board[2].ci[1]
    assert sum(r.battles for r in board) == 2 * 600
    assert np.mean([r.rating for r in board]) == pytest.approx(1000)
    # true gap alpha-gamma: 3 nats = 3 * 400 / ln 10 ≈ 521 Elo points
    assert 400 < board[0].rating - board[2].rating < 650


def test_ties_count_half_each_way_in_the_leaderboard() -> None:
    inputs = [pair_input(f"t{i}", "a", "b", "left", "right") for i in range(10)]
    outputs = [pair_output(f"t{i}", "tie") for i in range(10)]
    board = leaderboard_of(build_report(outputs, inputs, rounds=50))
    assert {r.model for r in board} == {"left", "right"}
    for r in board:
        assert r.rating == pytest.approx(1000) and r.win_rate == pytest.approx(0.5)


def test_no_leaderboard_without_both_names() -> None:
    inputs = [pair_input("x", "a", "b", model_a="only-a"), pair_input("y", "a", "b")]
    outputs = [pair_output("x", "response_1"), pair_output("y", "response_2")]
    report = build_report(outputs, inputs)
    assert report.pairwise is not None and report.pairwise.leaderboard is None
    assert any("names two different competitors" in n for n in report.notes)


def test_metadata_in_the_body_names_competitors_too() -> None:
    inputs = []
    for i in range(6):
        line = pair_input(f"m{i}", "a", "b")
        line["body"]["metadata"] = {"model_a": "one", "model_b": "two"}
        inputs.append(line)
    outputs = [pair_output(f"m{i}", "response_1") for i in range(6)]
    board = leaderboard_of(build_report(outputs, inputs, rounds=20))
    assert [r.model for r in board] == ["one", "two"]


def test_single_distribution_criteria_and_expected_score() -> None:
    overall = [1, 2, 2, 3, 3, 3, 5]
    outputs = [
        single_output(f"s{i}", o, {"Accuracy": o, "Timeliness": None if i % 2 else 4}, expected_score=o + 0.5)
        for i, o in enumerate(overall)
    ] + [single_output("bad", None)]
    single = build_report(outputs).single
    assert single is not None and single.n == 8 and single.scored == 7 and single.unscored == 1
    assert [(d.score, d.count) for d in single.distribution] == [(1, 1), (2, 2), (3, 3), (4, 0), (5, 1)]
    assert single.distribution[2].share == pytest.approx(3 / 7)
    assert single.overall.mean == pytest.approx(19 / 7) and single.overall.n == 7
    accuracy, timeliness = single.criteria
    assert accuracy.name == "Accuracy" and accuracy.mean == pytest.approx(19 / 7)
    assert accuracy.ci is not None and within(accuracy.ci, accuracy.mean) and accuracy.ci[0] < accuracy.ci[1]
    assert timeliness.n == 4 and timeliness.not_applicable == 3 and timeliness.mean == 4
    assert timeliness.ci == (4.0, 4.0)
    assert single.expected_score is not None and single.expected_score.n == 7
    assert single.expected_score.mean == pytest.approx(19 / 7 + 0.5)


def test_line_counts_failures_custom_templates_and_ensembles() -> None:
    failed_output = error_line("f2", 500, "server_error")
    outputs = [
        pair_output("p1", "response_1", ensemble=ensemble(3, 3, 1.0)),
        pair_output("p2", "response_2", ensemble=ensemble(3, 3, 2 / 3)),
        custom_output("c1"),
        failed_output,
        "not json",
    ]
    report = build_report(outputs, errors=[error_line("f1"), {"custom_id": "f3", "response": None,
                                                               "error": {"code": "batch_expired", "message": "x"}}])  # fmt: skip
    assert report.lines == LineCounts(
        total=7, succeeded=3, failed=3, malformed=1, without_judgment=1, judged=2, single=0, pairwise=2,
        inputs=None,
    )  # fmt: skip
    assert report.failures_by_code == {"server_error": 1, "upstream_error": 1, "batch_expired": 1}
    assert report.judge_models == {"pai-judge": 3}
    agreement = report.health.ensemble_agreement
    assert agreement is not None and agreement.mean == pytest.approx(5 / 6) and agreement.n == 2
    assert report.single is None
    assert any("custom templates" in n for n in report.notes)


def test_the_builder_joins_by_custom_id_whatever_the_order() -> None:
    inputs, outputs = arena({"a": 0.5, "b": 0.0}, 40, seed=2)
    first, second = ReportBuilder(), ReportBuilder()
    for line in inputs:
        first.add_input(line)
    for line in outputs:
        first.add_output(line)
        second.add_output(line)
    for line in inputs:
        second.add_input(line)
    assert first.build(100) == second.build(100)


def test_bootstrap_ratio_ci_is_chunked_and_sane() -> None:
    rng = np.random.default_rng(0)
    hits = (rng.random(30_000) < 0.3).astype(float)  # 30k units x 1000 rounds: drawn in chunks
    low, high = bootstrap_ratio_ci(hits, reps=1000) or (0.0, 0.0)
    assert low < hits.mean() < high and high - low < 0.02
    num, den = np.array([1.0, 2.0, 0.0]), np.array([1.0, 2.0, 1.0])
    ci = bootstrap_ratio_ci(num, den, reps=200)
    assert ci is not None and 0 <= ci[0] <= 0.75 <= ci[1] <= 1
    assert bootstrap_ratio_ci(np.array([])) is None


def test_html_names_every_chart_and_inlines_plotly() -> None:
    inputs, outputs = arena({"a": 1.0, "b": 0.0, "c": -1.0}, 60)
    outputs += [single_output("s1", 4, {"Accuracy": 4}), swapped_output("w", "response_1", "response_2")]
    trusted, labels = trust_batch()  # labelled lines with confidences: the reliability diagram
    page = render_html(build_report(outputs + trusted, inputs, rounds=50, labels=labels))
    for chart_id in CHART_IDS.values():
        assert f'id="{chart_id}"' in page
    assert "cdn.plot.ly" not in page.split("</script>", 1)[1] and "<script src=" not in page
    assert len(page) > 1_000_000  # plotly.js itself is in the page


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + "\n")
    return path


def test_cli_report_table_json_and_html(tmp_path: Path) -> None:
    inputs, outputs = arena({"strong": 1.2, "weak": -1.2}, 80)
    out = write_jsonl(tmp_path / "out.jsonl", [*outputs, pair_output("lonely", None)])
    inp = write_jsonl(tmp_path / "in.jsonl", inputs)
    err = write_jsonl(tmp_path / "err.jsonl", [error_line("e1")])
    runner = CliRunner()
    table = runner.invoke(
        app, ["report", str(out), "--input", str(inp), "--errors", str(err), "--bootstrap", "50"]
    )
    assert table.exit_code == 0, table.output
    assert "Leaderboard" in table.output and "strong" in table.output and "P(longer wins)" in table.output
    result = runner.invoke(
        app, ["report", str(out), "--input", str(inp), "--format", "json", "-o", str(tmp_path / "r.json"),
              "--seed", "7", "--bootstrap", "50"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["method"]["seed"] == 7 and report["lines"]["total"] == 81
    assert [r["model"] for r in report["pairwise"]["leaderboard"]] == ["strong", "weak"]
    html = runner.invoke(app, ["report", str(out), "--format", "html", "-o", str(tmp_path / "r.html")])
    assert html.exit_code == 0 and 'id="chart-outcomes"' in (tmp_path / "r.html").read_text()
    missing = runner.invoke(app, ["report", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2
    bad = runner.invoke(app, ["report", str(out), "--format", "pdf"])
    assert bad.exit_code == 2


async def test_a_jurist_run_output_file_reports_like_a_batch(tmp_path: Path) -> None:
    from jurist.backends.fake import FakeBackend
    from jurist.cli.report import build_from_files
    from jurist.runner.local_run import read_requests, run_file
    from jurist.service.judging.models import JudgeModel
    from jurist.service.judging.pipeline import ChatService
    from jurist.settings import OpenAIModelConfig
    from tests.support.verdicts import pairwise_verdict_json

    fake = FakeBackend(pairwise_verdict_json(5, 2, "response_1"))
    chat = ChatService(
        {"pai-judge": JudgeModel("pai-judge", OpenAIModelConfig(base_url="http://127.0.0.1:9/v1"), fake)}
    )
    inputs = [
        pair_input(f"r{i}", "a longer first answer", "short", "first-model", "second-model") for i in range(6)
    ]
    source = write_jsonl(tmp_path / "input.jsonl", inputs)
    lines, problems = read_requests(source, frozenset({"pai-judge"}), 100)
    assert problems == []
    output, errors = tmp_path / "out.jsonl", tmp_path / "out.errors.jsonl"
    stats = await run_file(chat, lines, output, errors, {"pai-judge": 2}, max_attempts=1, retry_base=0.01)
    assert stats.completed == 6
    report = build_from_files(output, source, errors, rounds=50, seed=0)
    assert (
        report.lines.total == 6 and report.pairwise is not None and report.pairwise.outcomes.response_1 == 6
    )
    assert [r.model for r in leaderboard_of(report)] == ["first-model", "second-model"]
    longer, first = report.health.longer_wins, report.health.first_shown_wins
    assert longer is not None and longer.rate == 1.0 and first is not None and first.rate == 1.0
