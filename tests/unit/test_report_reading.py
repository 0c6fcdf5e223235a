"""The report's JSON stays what it was (golden files under tests/data/report, written by the report
before it was typed), and output lines read through the judgment model, whoever wrote them."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from rich.console import Console

from jurist.cli.report import render
from jurist.evaluation.report import build_report
from tests.support.report_lines import sample_batch

GOLDEN = Path(__file__).parent.parent / "data" / "report"


@pytest.mark.parametrize("case", ["full", "outputs_only", "errors_only"])
def test_the_json_report_is_byte_for_byte_the_golden_file(case: str) -> None:
    inputs, outputs, errors = sample_batch()
    args = {"full": (outputs, inputs, errors), "outputs_only": (outputs,), "errors_only": ([], None, errors)}
    report = build_report(*args[case], rounds=200, seed=5)
    golden = (GOLDEN / f"{case}.json").read_text(encoding="utf-8")
    assert render(report, "json", "", Console()) == golden  # jurist report --format json
    assert orjson.dumps(report.model_dump(mode="json")) == orjson.dumps(
        json.loads(golden)
    )  # GET /v1/batches/{id}/report
