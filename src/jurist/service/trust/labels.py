"""Human labels of a batch's lines: post (a JSON list or JSONL), list, delete. A label is accepted only
for a line of the batch's output that holds a judgment, and only of that line's kind: "1" | "2" | "tie"
for a pairwise line, an integer score within the judgment's ``score_range`` for a single one, which may
also carry ``criteria`` (the judgment's criterion names → an integer score in the same range, or null for
N/A). The batch must have an output file (labels are about its verdicts); another tenant's batch is a
404."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection, Mapping, Sequence

import orjson
from pydantic import JsonValue

from jurist.errors import InvalidRequest, NotFound, PayloadTooLarge
from jurist.evaluation.agreement import Agreement, Label, LabeledLine, agreement
from jurist.ids import Clock
from jurist.protocol.judgment import PairwiseJudgment, SingleJudgment
from jurist.service.jobs.batches import BatchService
from jurist.service.trust.line_facts import Kind, LineFacts, LineFactsIndex, judged_lines
from jurist.store.blobs import BlobStore, split_lines
from jurist.store.files import FileStore
from jurist.store.labels import LabelRecord, LabelStore

PAIRWISE_LABELS = ("1", "2", "tie")
DEFAULT_ANNOTATOR = "default"
MAX_ANNOTATOR_CHARS = 256
MAX_NOTE_CHARS = 4096
MAX_LABELS_PER_REQUEST = 10_000  # per POST /v1/batches/{id}/labels; ``jurist labels import`` has none
CHECKED_PER_TURN = 500  # labels checked between turns of the event loop (other requests go between)
Judgment = SingleJudgment | PairwiseJudgment


def parse_body(raw: bytes) -> list[object]:
    """A JSON list of label objects, or one object per line (JSONL)."""
    text = raw.strip()
    if not text:
        raise InvalidRequest("The body holds no labels.", param="body")
    try:
        if text.startswith(b"["):
            items = orjson.loads(text)
            return list(items)
        return [orjson.loads(line) for line in text.splitlines() if line.strip()]
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The body is not a JSON list or JSONL of labels: {exc}", param="body") from exc


def check_count(items: list[object]) -> list[object]:
    """``items`` when they are at most ``MAX_LABELS_PER_REQUEST`` (the API's cap per request)."""
    if len(items) > MAX_LABELS_PER_REQUEST:
        raise PayloadTooLarge(
            f"The body holds {len(items)} labels; at most {MAX_LABELS_PER_REQUEST} are accepted per "
            "request. Post them in several requests, or import a large file with `jurist labels import`.",
            param="labels",
        )
    return items


def _check_text(
    item: Mapping[str, object], field: str, where: str, cap: int, default: str | None
) -> str | None:
    """``item[field]``: a string of at most ``cap`` characters (non-empty when ``default`` is given,
    which stands for a missing one), or None when missing and no default."""
    value = item.get(field, default)
    if value is None and default is None:
        return None
    if not isinstance(value, str) or (default is not None and not value):
        what = "a non-empty string" if default is not None else "a string"
        raise InvalidRequest(f"{where}.{field} must be {what}.", param=f"{where}.{field}")
    if len(value) > cap:
        raise InvalidRequest(
            f"{where}.{field} is {len(value)} characters long; the limit is {cap}.", param=f"{where}.{field}"
        )
    return value


def _check_score(value: object, scale: tuple[int, int] | None, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(
            f"{field} must be an integer score for a single line, got {value!r}.", param=field
        )
    if scale is not None and not scale[0] <= value <= scale[1]:
        raise InvalidRequest(
            f"{field} {value} is outside the line's scale {scale[0]}..{scale[1]}.", param=field
        )
    return value


def _check_label(label: object, kind: Kind, where: str) -> JsonValue:
    if kind.mode == "pairwise":
        if isinstance(label, int) and not isinstance(label, bool) and label in (1, 2):
            return str(label)  # 1 and 2 as numbers are the same labels
        if label not in PAIRWISE_LABELS:
            raise InvalidRequest(
                f'{where}.label must be "1", "2" or "tie" (or 1, 2) for a pairwise line, got {label!r}.',
                param=f"{where}.label",
            )
        return str(label)
    return _check_score(label, kind.scale, f"{where}.label")


def _check_criteria(criteria: object, kind: Kind, where: str) -> dict[str, int | None] | None:
    """A single line's per-criterion scores: criterion name → integer score (null: N/A)."""
    if criteria is None:
        return None
    field = f"{where}.criteria"
    if kind.mode != "single":
        raise InvalidRequest(f"{field} is for single lines only; this line is {kind.mode}.", param=field)
    if not isinstance(criteria, Mapping):
        raise InvalidRequest(f"{field} must be an object of criterion name → score.", param=field)
    checked: dict[str, int | None] = {}
    for name, score in criteria.items():
        if name not in kind.criteria:
            raise InvalidRequest(
                f"{field}.{name} is not a criterion of this line's judgment "
                f"({', '.join(kind.criteria) or 'it has none'}).",
                param=f"{field}.{name}",
            )
        checked[name] = None if score is None else _check_score(score, kind.scale, f"{field}.{name}")
    return checked


_WINNERS = {"response_1": "1", "response_2": "2", "tie": "tie"}


def labeled_line(
    custom_id: str,
    judgment: Judgment,
    labels: dict[str, Label],
    criteria: Mapping[str, Mapping[str, int | None]] | None = None,
) -> LabeledLine:
    """The judge's side of a labeled line: its verdict as a label, swap consistency, ensemble unanimity,
    and for a single line its criterion scores (``criteria``: the annotators' per-criterion labels)."""
    ensemble = judgment.ensemble
    unanimous = None if ensemble is None or ensemble.agreement is None else ensemble.agreement == 1.0
    if isinstance(judgment, PairwiseJudgment):
        verdict: Label | None = _WINNERS[judgment.winner] if judgment.scored and judgment.winner else None
        consistent = judgment.swap.consistent if judgment.swap is not None else None
        return LabeledLine(custom_id, "pairwise", verdict, labels, consistent, unanimous)
    score = judgment.overall_score if judgment.scored else None
    verdict = None if score is None else round(score)
    scores = {c.name: c.score for c in judgment.criteria} if judgment.scored else {}
    return LabeledLine(custom_id, "single", verdict, labels, None, unanimous, scores, criteria or {})


PARSE_BLOCK = 1000  # output lines parsed per trip to a worker thread


# An output line as Jurist writes it starts with its id and custom_id: read the custom_id without
# parsing the whole line (a line that does not start so is parsed whole).
_HEAD = re.compile(rb'^\{"id":"[^"\\]*","custom_id":("(?:[^"\\]|\\.)*")')


def _custom_id(raw: bytes) -> str | None:
    head = _HEAD.match(raw)
    if head is None:
        return None
    value = orjson.loads(head.group(1))
    return value if isinstance(value, str) else None


def _judged(raws: list[bytes], wanted: Collection[str] | None) -> dict[str, tuple[str, Judgment]]:
    """The lines of ``raws`` that hold a readable judgment (only those of ``wanted`` custom_ids, when
    given: the others are not parsed): custom_id → (the model, the judgment)."""

    def asked(raw: bytes) -> bool:
        known = _custom_id(raw)
        return known is None or wanted is None or known in wanted

    return {
        custom_id: (str(body.get("model", "")), judgment)
        for custom_id, body, judgment in judged_lines(raws, None if wanted is None else asked)
        if body is not None and not isinstance(judgment, str) and (wanted is None or custom_id in wanted)
    }


class LabelService:
    def __init__(
        self,
        labels: LabelStore,
        files: FileStore,
        blobs: BlobStore,
        batches: BatchService,
        clock: Clock,
        index: LineFactsIndex | None = None,
    ) -> None:
        self.labels = labels
        self.files = files
        self.blobs = blobs
        self.batches = batches
        self.clock = clock
        self.index = index if index is not None else LineFactsIndex()

    async def _output(self, tenant: str, batch_id: str) -> tuple[str, int]:
        """The batch's output file: its id and size (a batch without one has nothing to label)."""
        record = await self.batches.get(tenant, batch_id)
        out = record.output_file_id
        found = None if out is None else await self.files.get(tenant, out)
        if out is None or found is None:
            raise InvalidRequest(
                f"Batch {batch_id} has no output file (status {record.status}); "
                "labels are about its verdicts.",
                param="batch_id",
            )
        return out, found.bytes

    async def facts(self, tenant: str, batch_id: str) -> dict[str, LineFacts]:
        """The batch's labelable lines: custom_id → what they say (``line_facts``; parsed once per
        output, a large one in a worker process)."""
        out, size = await self._output(tenant, batch_id)
        return await self.index.get(out, size, lambda: self.blobs.read(out))

    async def _judgments(
        self, tenant: str, batch_id: str, wanted: Collection[str] | None = None
    ) -> dict[str, Judgment]:
        """The batch's labelable lines: custom_id → its judgment, from the output file."""
        lines = await self.judged_lines(tenant, batch_id, wanted)
        return {cid: judgment for cid, (_, judgment) in lines.items()}

    async def judged_lines(
        self, tenant: str, batch_id: str, wanted: Collection[str] | None = None
    ) -> dict[str, tuple[str, Judgment]]:
        """The batch's labelable lines: custom_id → (the model that judged it, its judgment); only
        those of the ``wanted`` custom_ids when given (a label post reads only the lines it labels:
        a 50,000-line output is scanned, not parsed)."""
        out, _ = await self._output(tenant, batch_id)
        found: dict[str, tuple[str, Judgment]] = {}
        block: list[bytes] = []
        async for raw in split_lines(self.blobs.read(out)):
            block.append(raw)
            if len(block) >= PARSE_BLOCK:  # parsed off the event loop: a large batch takes seconds
                found.update(await asyncio.to_thread(_judged, block, wanted))
                block = []
        found.update(await asyncio.to_thread(_judged, block, wanted))
        return found

    async def agreement(self, tenant: str, batch_id: str, rounds: int = 1000, seed: int = 0) -> Agreement:
        """The judge's agreement with the batch's human labels (``evaluation.agreement``)."""
        records = await self.labels.list(tenant, batch_id)
        judgments = await self._judgments(tenant, batch_id, {r.custom_id for r in records})
        by_line: dict[str, dict[str, Label]] = {}
        criteria: dict[str, dict[str, Mapping[str, int | None]]] = {}
        for record in records:
            if isinstance(record.label, str | int) and record.custom_id in judgments:
                by_line.setdefault(record.custom_id, {})[record.annotator] = record.label
                if record.criteria:
                    criteria.setdefault(record.custom_id, {})[record.annotator] = record.criteria
        lines = [
            labeled_line(custom_id, judgments[custom_id], labels, criteria.get(custom_id))
            for custom_id, labels in by_line.items()
        ]
        return await asyncio.to_thread(agreement, lines, rounds, seed)

    async def post(self, tenant: str, batch_id: str, items: list[object]) -> list[LabelRecord]:
        facts = await self.facts(tenant, batch_id)
        now = int(self.clock.now())
        records: list[LabelRecord] = []
        seen: dict[tuple[str, str], int] = {}  # (custom_id, annotator) → its index in the body
        for i, item in enumerate(items):
            if i and i % CHECKED_PER_TURN == 0:
                await asyncio.sleep(0)  # 10,000 labels are checked in turns, not in one stretch
            where = f"labels[{i}]"
            if not isinstance(item, Mapping):
                raise InvalidRequest(f"{where} must be an object.", param=where)
            custom_id = item.get("custom_id")
            if not isinstance(custom_id, str) or not custom_id:
                raise InvalidRequest(
                    f"{where}.custom_id must be a non-empty string.", param=f"{where}.custom_id"
                )
            line = facts.get(custom_id)
            if line is None:
                raise InvalidRequest(
                    f"{where}.custom_id {custom_id!r} is not a judged line of batch {batch_id}.",
                    param=f"{where}.custom_id",
                )
            annotator = _check_text(item, "annotator", where, MAX_ANNOTATOR_CHARS, DEFAULT_ANNOTATOR)
            assert annotator is not None  # a default is given
            note = _check_text(item, "note", where, MAX_NOTE_CHARS, None)
            first = seen.setdefault((custom_id, annotator), i)
            if first != i:
                raise InvalidRequest(
                    f"{where} repeats labels[{first}]: the same custom_id {custom_id!r} and annotator "
                    f"{annotator!r}. Post one label per line and annotator.",
                    param=where,
                )
            label = _check_label(item.get("label"), line.kind, where)
            criteria = _check_criteria(item.get("criteria"), line.kind, where)
            records.append(LabelRecord(tenant, batch_id, custom_id, annotator, label, note, now, criteria))
        await self.labels.put(records)
        return records

    async def list(self, tenant: str, batch_id: str) -> list[LabelRecord]:
        await self.batches.get(tenant, batch_id)
        return await self.labels.list(tenant, batch_id)

    async def delete(self, tenant: str, batch_id: str, custom_id: str, annotator: str) -> None:
        await self.batches.get(tenant, batch_id)
        if not await self.labels.delete(tenant, batch_id, custom_id, annotator):
            raise NotFound(f"No label of {custom_id!r} by {annotator!r} on batch {batch_id}.")


async def wire_all(records: Sequence[LabelRecord]) -> list[JsonValue]:
    """``wire`` of each record, ``CHECKED_PER_TURN`` at a time between turns of the event loop."""
    out: list[JsonValue] = []
    for start in range(0, len(records), CHECKED_PER_TURN):
        if start:
            await asyncio.sleep(0)
        out += [wire(r) for r in records[start : start + CHECKED_PER_TURN]]
    return out


def wire(record: LabelRecord) -> dict[str, JsonValue]:
    """A label on the wire; ``criteria`` only when the label has them."""
    data: dict[str, JsonValue] = {
        "object": "batch.label",
        "custom_id": record.custom_id,
        "annotator": record.annotator,
        "label": record.label,
    }
    if record.criteria is not None:
        data["criteria"] = dict(record.criteria)
    data["note"] = record.note
    data["created_at"] = record.created_at
    return data
