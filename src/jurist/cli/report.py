"""The ``jurist report`` command: read a batch's output (and optionally input and error) JSONL files,
stream them into a report, and print it as tables, JSON or a self-contained HTML page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import orjson
from rich.console import Console

from jurist.evaluation.report import ReportBuilder
from jurist.evaluation.report_model import Report

Format = Literal["table", "json", "html"]
FORMATS: dict[str, Format] = {"table": "table", "json": "json", "html": "html"}
MALFORMED = object()  # a line that is not JSON: counted, not fatal


def read_jsonl(path: Path) -> Iterator[object]:
    """Parsed lines of a JSONL file, one at a time (blank lines skipped)."""
    with path.open("rb") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            try:
                yield orjson.loads(raw)
            except orjson.JSONDecodeError:
                yield MALFORMED


def build_from_files(
    output: Path, inputs: Path | None, errors: Path | None, rounds: int, seed: int
) -> Report:
    builder = ReportBuilder()
    if inputs is not None:
        for line in read_jsonl(inputs):
            builder.add_input(line)
    for line in read_jsonl(output):
        builder.add_output(line)
    if errors is not None:
        for line in read_jsonl(errors):
            builder.add_error(line)
    return builder.build(rounds, seed)


def render(report: Report, fmt: Format, title: str, console: Console) -> str | None:
    """The report as text for a file or stdout (json, html); ``table`` prints to the console instead."""
    if fmt == "json":
        return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    if fmt == "html":
        from jurist.evaluation.report_html import render_html

        return render_html(report, title)
    from jurist.evaluation.report_table import print_report

    print_report(report, console)
    return None


def run_report(
    output: Path,
    inputs: Path | None,
    errors: Path | None,
    fmt: Format,
    out_file: Path | None,
    rounds: int,
    seed: int,
) -> None:
    report = build_from_files(output, inputs, errors, rounds, seed)
    title = f"Jurist batch report: {output.name}"
    if fmt == "table" and out_file is not None:
        with out_file.open("w", encoding="utf-8") as fh:
            render(report, fmt, title, Console(file=fh, width=120, no_color=True))
        return
    text = render(report, fmt, title, Console())
    if text is None:
        return
    if out_file is not None:
        out_file.write_text(text, encoding="utf-8")
    else:
        print(text, end="")
