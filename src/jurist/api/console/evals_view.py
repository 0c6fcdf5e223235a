"""What the console's eval pages show, as typed values built from the Evals records (no I/O here): an
eval's testing criteria with their settings, pass rates (overall, from a run's ``result_counts``, and per
criterion, from the ``verdicts`` counts), a run's summary, and one output item's row (its datasource
item, its sample's output and each criterion's result side by side). Long caller text is clipped (the
page shows the rest on demand); every value is text, escaped by the templates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

from jurist.api.console.batches import when
from jurist.protocol.json_types import JsonValue
from jurist.store.eval_records import EvalRecord, EvalRunRecord, OutputItemRecord, RunCounts

CLIP = 160  # characters of a long value shown before "more"
SETTING_CLIP = 120
VERDICTS = {"P": "pass", "F": "fail", "E": "error"}
BADGES = {"pass": "good", "fail": "bad", "error": "warn"}
RUN_BADGES = {"completed": "good", "failed": "bad", "canceled": "bad"}  # queued / in progress: warn


@dataclass(frozen=True)
class Clip:
    """A text's first characters and the whole (``clipped``: the page offers the whole on demand)."""

    short: str
    full: str
    clipped: bool


def clip(text: str, limit: int = CLIP) -> Clip:
    if len(text) <= limit:
        return Clip(text, text, False)
    return Clip(text[:limit].rstrip() + "…", text, True)


def json_clip(value: JsonValue, limit: int = CLIP) -> Clip:
    """A JSON value on one line, clipped; the whole indented."""
    short = clip(as_text(value), limit)
    return Clip(short.short, as_text(value, indent=True), short.clipped)


def as_text(value: JsonValue, indent: bool = False) -> str:
    """A JSON value as the page shows it: a string as itself, anything else as JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else 0).decode()


@dataclass(frozen=True)
class Rate:
    """Rows that passed, failed and errored; the pass rate is passed ÷ all of them (an errored row is
    not a pass)."""

    passed: int
    failed: int
    errored: int

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errored

    @property
    def percent(self) -> str:
        return f"{100 * self.passed / self.total:.1f}%" if self.total else "—"


@dataclass(frozen=True)
class CriterionView:
    index: int  # its place in the eval's testing_criteria (and in an item's verdicts)
    id: str
    name: str
    type: str
    settings: list[tuple[str, Clip]]


@dataclass(frozen=True)
class CriterionRate:
    criterion: CriterionView
    rate: Rate


@dataclass(frozen=True)
class RunSummary:
    record: EvalRunRecord
    badge: str
    model: str
    source: str
    rows: int  # rows in the run's data
    created: str
    overall: Rate
    criteria: list[CriterionRate]


@dataclass(frozen=True)
class ResultCell:
    verdict: str  # pass | fail | error
    badge: str
    score: str
    error: Clip | None


@dataclass(frozen=True)
class ItemRow:
    id: str
    index: int
    status: str
    badge: str
    item: Clip
    output: Clip
    error: Clip | None  # why the row could not be graded
    results: list[ResultCell]
    question: Clip | None = None  # a head-to-head row: the question (its sample's input) …
    base_output: Clip | None = None  # … and the base run's answer beside the candidate's (``output``)


@dataclass(frozen=True)
class EvalRow:
    record: EvalRecord
    criteria: int
    created: str


@dataclass(frozen=True)
class SourceConfig:
    """An eval's ``data_source_config``: its type, the item schema and whether rows carry a sample."""

    type: str
    item_schema: Clip
    with_sample: bool


def eval_row(record: EvalRecord) -> EvalRow:
    return EvalRow(record, len(criteria_of(record)), when(record.created_at))


def source_config(record: EvalRecord) -> SourceConfig:
    config = record.body.get("data_source_config")
    config = config if isinstance(config, dict) else {}
    schema = config.get("schema")
    schema = schema if isinstance(schema, dict) else {}
    properties = schema.get("properties")
    item = properties.get("item") if isinstance(properties, dict) else None
    required = schema.get("required")
    with_sample = isinstance(required, list) and "sample" in required
    return SourceConfig(str(config.get("type") or ""), json_clip(item or {}, SETTING_CLIP), with_sample)


def metadata_of(body: Mapping[str, JsonValue]) -> list[tuple[str, str]]:
    found = body.get("metadata")
    return [(k, as_text(v)) for k, v in found.items()] if isinstance(found, dict) else []


def criteria_of(record: EvalRecord) -> list[CriterionView]:
    return _criteria(record.body.get("testing_criteria"))


def run_criteria(record: EvalRecord, run: EvalRunRecord) -> list[CriterionView]:
    """The criteria a run was graded by: its own (a head-to-head run's) or else its eval's."""
    own = run.body.get("testing_criteria")
    return _criteria(own) if isinstance(own, list) else criteria_of(record)


def _criteria(found: JsonValue) -> list[CriterionView]:
    out: list[CriterionView] = []
    for k, criterion in enumerate(found if isinstance(found, list) else []):
        if not isinstance(criterion, dict):
            continue
        settings = [
            (key, clip(as_text(value), SETTING_CLIP))
            for key, value in criterion.items()
            if key not in ("id", "name", "type") and value is not None
        ]
        name = str(criterion.get("name") or f"criterion {k + 1}")
        out.append(
            CriterionView(k, str(criterion.get("id") or ""), name, str(criterion.get("type") or ""), settings)
        )
    return out


def criterion_rates(criteria: Sequence[CriterionView], counts: RunCounts) -> list[CriterionRate]:
    out = []
    for c in criteria:
        tally = {"P": 0, "F": 0, "E": 0}
        for verdicts, n in counts.verdicts.items():
            tally[verdicts[c.index] if len(verdicts) > c.index else "E"] += n
        out.append(CriterionRate(c, Rate(tally["P"], tally["F"], tally["E"])))
    return out


def overall(counts: RunCounts) -> Rate:
    s = counts.statuses
    return Rate(s.get("pass", 0), s.get("fail", 0), s.get("error", 0))


def source_of(run: EvalRunRecord) -> str:
    source = run.body.get("data_source")
    if not isinstance(source, dict):
        return ""
    spec = source.get("source")
    kind = spec.get("type") if isinstance(spec, dict) else None
    where = {"file_content": "inline rows", "file_id": "a file"}.get(str(kind), str(kind or ""))
    name = f"{source.get('type')} ({where})" if where else str(source.get("type"))
    return name + (f" · file {spec.get('id')}" if isinstance(spec, dict) and kind == "file_id" else "")


def summary(run: EvalRunRecord, criteria: Sequence[CriterionView], counts: RunCounts) -> RunSummary:
    rows = run.body.get("rows")
    return RunSummary(
        run, RUN_BADGES.get(run.status, "warn"), str(run.body.get("model") or ""), source_of(run),
        rows if isinstance(rows, int) else 0, when(run.created_at), overall(counts),
        criterion_rates(criteria, counts),
    )  # fmt: skip


def _output(sample: JsonValue, key: str = "output") -> str:
    """The sample's answer: its output messages' content (``key``: or another list of messages)."""
    if not isinstance(sample, dict):
        return ""
    output = sample.get(key)
    texts = (
        [as_text(m.get("content")) for m in output if isinstance(m, dict)] if isinstance(output, list) else []
    )
    return "\n".join(texts)


def _score(value: JsonValue) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else as_text(value)
    return (f"{value:.3f}".rstrip("0").rstrip(".") or "0") if isinstance(value, float) else str(value)


def item_row(item: OutputItemRecord, criteria: Sequence[CriterionView]) -> ItemRow:
    body = item.body
    sample = body.get("sample")
    error = sample.get("error") if isinstance(sample, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    results = body.get("results")
    found = [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []
    cells = []
    for c in criteria:
        result: Mapping[str, JsonValue] = found[c.index] if c.index < len(found) else {}
        verdict = VERDICTS.get(item.verdicts[c.index:c.index + 1], "error")  # fmt: skip
        why = result.get("error")
        cells.append(
            ResultCell(
                verdict,
                BADGES[verdict],
                _score(result.get("score")),
                None if why is None else clip(as_text(why)),
            )
        )
    return ItemRow(
        item.id, item.index, item.status, BADGES.get(item.status, "warn"),
        json_clip(body.get("datasource_item") or {}), clip(_output(sample)),
        None if message is None else clip(as_text(message)), cells,
        *_paired(sample),
    )  # fmt: skip


def _paired(sample: JsonValue) -> tuple[Clip | None, Clip | None]:
    """A head-to-head row's question and base answer (its sample has ``base_output``); else none."""
    if not isinstance(sample, dict) or "base_output" not in sample:
        return None, None
    return clip(_output(sample, "input")), clip(_output(sample, "base_output"))
