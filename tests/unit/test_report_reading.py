"""The report's JSON stays what it was (golden files under tests/data/report, written by the report
before it was typed; ``trust.json`` added with the trust sections, which the other three do not have),
and output lines read through the judgment model, whoever wrote them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console

from jurist.cli.report import render
from jurist.evaluation.report import build_report
from jurist.evaluation.report_lines import read_judgment
from jurist.evaluation.report_model import LineCounts, Outcomes
from jurist.protocol.judgment import PairwiseJudgment
from tests.support.floats import assert_close, assert_json_text_close
from tests.support.report_lines import output_line, pair_judgment, pair_output, sample_batch, single_output
from tests.support.trust_lines import trust_batch

GOLDEN = Path(__file__).parent.parent / "data" / "report"


@pytest.mark.parametrize("case", ["full", "outputs_only", "errors_only", "trust"])
def test_the_json_report_matches_the_golden_file(case: str) -> None:
    inputs, outputs, errors = sample_batch()
    trusted, labels = trust_batch()
    args = {"full": (outputs, inputs, errors), "outputs_only": (outputs,), "errors_only": ([], None, errors),
            "trust": (outputs + trusted, inputs, errors)}  # fmt: skip
    report = build_report(*args[case], rounds=200, seed=5, labels=labels if case == "trust" else None)
    golden = (GOLDEN / f"{case}.json").read_text(encoding="utf-8")
    # byte for byte but for the last digits of floats, which differ between CPUs (tests/support/floats.py)
    assert_json_text_close(render(report, "json", "", Console()), golden)  # jurist report --format json
    assert_close(
        orjson.loads(orjson.dumps(report.model_dump(mode="json"))), json.loads(golden)
    )  # GET /v1/batches/{id}/report


def earlier_game(order: str, winner: str) -> dict[str, Any]:
    """A swap game as written before ensembles (95b67b0): no ``sample``, the judgment's own fields."""
    return {"order": order, **pair_judgment(winner)}


def test_lines_written_by_earlier_versions_read_with_the_judgment_model() -> None:
    before_ensembles = pair_judgment("tie")
    before_ensembles["swap"] = {
        "consistent": False,
        "rule": "disagreement_is_tie",
        "mean_scores": {"response_1": 4.0, "response_2": 3.0},
        "games": [earlier_game("as_given", "response_1"), earlier_game("swapped", "response_2")],
    }
    bare = pair_judgment("response_2")  # before attempts, scene, language and parsed_by were written
    for key in ("attempts", "scene", "language", "parsed_by"):
        bare.pop(key, None)
    later = {**pair_judgment("response_1"), "verdict_version": 7, "calibration_curve": {"method": "isotonic"}}
    later["criteria"][0]["confidence"] = 0.9  # unknown keys, at any depth, are ignored
    outputs = [
        output_line("old-swap", before_ensembles),
        output_line("bare", bare),
        output_line("later", later),
    ]

    judgment = read_judgment(before_ensembles)
    assert isinstance(judgment, PairwiseJudgment) and judgment.swap is not None
    assert [(g.order, g.sample, g.winner) for g in judgment.swap.games] == [
        ("as_given", 0, "response_1"),
        ("swapped", 0, "response_2"),
    ]
    old = read_judgment(bare)
    assert isinstance(old, PairwiseJudgment) and old.attempts == 1 and old.parsed_by is None

    report = build_report(outputs, rounds=20)
    assert report.lines.judged == 3 and report.lines.malformed == 0
    assert report.pairwise is not None and report.pairwise.outcomes == Outcomes(
        response_1=1, tie=1, response_2=1
    )
    consistency, first = report.health.swap_consistency, report.health.first_shown_wins
    assert consistency is not None and consistency.rate == 0.0 and consistency.n == 1
    # both swap games were won by the answer shown first; the two plain lines as given: 1 of 2
    assert first is not None and first.n == 4 and first.rate == 0.75
    assert report.health.parsed_by == {"json": 2, "None": 1}  # as the dict-reading report counted it
    assert not any("cannot read" in n for n in report.notes)


def test_a_judgment_with_garbage_types_is_counted_as_malformed_with_a_note() -> None:
    garbage = [
        {**pair_judgment("response_1"), "criteria": "all good"},
        {**pair_judgment("response_1"), "winner": "nobody"},
        {**pair_judgment("response_1"), "swap": {"games": {"order": "as_given"}}},
        {**pair_judgment("response_1"), "expected_score": "high"},
        {"mode": "single", "scored": True, "overall_score": "excellent", "score_range": ["a", "b"]},
        {"mode": "single", "scored": True, "overall_score": 4, "criteria": [{"score": 3}]},  # no name
    ]
    outputs: list[Any] = [output_line(f"g{i}", j) for i, j in enumerate(garbage)]
    outputs += [output_line("list", [1, 2]), output_line("bogus", {"mode": "debate"})]  # no judgment
    outputs += [pair_output("fine", "response_1"), single_output("fine-single", 4)]
    report = build_report(outputs, rounds=20)
    assert report.lines == LineCounts(
        total=10, succeeded=4, failed=0, malformed=6, without_judgment=2, judged=2, single=1, pairwise=1,
        inputs=None,
    )  # fmt: skip
    note = next(n for n in report.notes if "cannot read" in n)
    assert note.startswith(
        "6 line(s) carry a judgment this report cannot read (the first: g0: pairwise.criteria"
    )
    assert note.endswith("counted as malformed.")
    assert report.judge_models == {"pai-judge": 10}
    json.dumps(report.model_dump(mode="json"), allow_nan=False)


def test_malformed_input_lines_never_break_a_report() -> None:
    inputs: list[Any] = [
        "not json",
        None,
        [1, 2],
        {"custom_id": "a", "body": "text"},
        {"custom_id": "b", "body": {"messages": [None, "x", {"content": [None, 3, {"mode": "pairwise"}]}]}},
        {"custom_id": "c", "body": {"messages": {"0": 1}, "judge": "pairwise"}, "metadata": "m"},
        {"custom_id": "d", "body": {"messages": [{"content": [{"type": "text", "text": "{not json"}]}]}},
        {"custom_id": "e", "metadata": {"model_a": 1, "model_b": ""}, "body": {"metadata": {"model_a": "x"}}},
    ]
    outputs = [pair_output(cid, "response_1") for cid in "abcde"]
    report = build_report(outputs, inputs, rounds=20)
    assert report.lines.inputs == 8 and report.lines.judged == 5
    assert report.pairwise is not None and report.pairwise.leaderboard is None
    assert report.health.longer_wins is None


def test_input_lines_give_answer_lengths_in_all_three_judge_item_forms() -> None:
    item = {"question": "q?", "answer1": "a much longer answer", "answer2": "short"}
    as_text = json.dumps({"mode": "pairwise", **item})
    bodies = {
        "part": {
            "messages": [{"role": "user", "content": [{"mode": "pairwise", "type": "json", "json": item}]}]
        },
        "text": {"messages": [{"role": "user", "content": [{"type": "text", "text": as_text}]}]},
        "string": {
            "messages": [{"role": "system", "content": "Be fair."}, {"role": "user", "content": as_text}]
        },
        "pasted": {"messages": [{"role": "user", "content": json.dumps({"mode": "pairwise", "json": item})}]},
        "judge": {"messages": [{"role": "user", "content": "hi"}], "judge": {"mode": "pairwise", **item}},
    }
    inputs = [
        {
            "custom_id": cid,
            "body": {"model": "pai-judge", **body},
            "metadata": {"model_a": "a", "model_b": "b"},
        }
        for cid, body in bodies.items()
    ]
    outputs = [pair_output(cid, "response_1") for cid in bodies]
    longer = build_report(outputs, inputs, rounds=20).health.longer_wins
    assert longer is not None and longer.n == len(bodies) and longer.rate == 1.0
