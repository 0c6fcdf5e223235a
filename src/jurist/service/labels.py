"""Human labels of a batch's lines: post (a JSON list or JSONL), list, delete. A label is accepted only
for a line of the batch's output that holds a judgment, and only of that line's kind: "1" | "2" | "tie"
for a pairwise line, an integer score within the judgment's ``score_range`` for a single one. The batch
must have an output file (labels are about its verdicts); another tenant's batch is a 404."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import orjson
from pydantic import JsonValue

from jurist.errors import InvalidRequest, NotFound
from jurist.evaluation.agreement import Agreement, Label, LabeledLine, agreement
from jurist.evaluation.report_lines import read_judgment
from jurist.ids import Clock
from jurist.protocol.judgment import PairwiseJudgment, SingleJudgment
from jurist.service.batches import BatchService
from jurist.store.blobs import BlobStore, split_lines
from jurist.store.files import FileStore
from jurist.store.labels import LabelRecord, LabelStore

PAIRWISE_LABELS = ("1", "2", "tie")
DEFAULT_ANNOTATOR = "default"
Judgment = SingleJudgment | PairwiseJudgment
Kind = tuple[str, tuple[float, float] | None]  # ("pairwise", None) | ("single", (low, high))


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


def _check_label(label: object, kind: Kind, where: str) -> JsonValue:
    mode, scale = kind
    if mode == "pairwise":
        if label not in PAIRWISE_LABELS:
            raise InvalidRequest(
                f'{where}.label must be "1", "2" or "tie" for a pairwise line, got {label!r}.',
                param=f"{where}.label",
            )
        return str(label)
    if isinstance(label, bool) or not isinstance(label, int):
        raise InvalidRequest(
            f"{where}.label must be an integer score for a single line, got {label!r}.",
            param=f"{where}.label",
        )
    if scale is not None and not scale[0] <= label <= scale[1]:
        raise InvalidRequest(
            f"{where}.label {label} is outside the line's scale {scale[0]:g}..{scale[1]:g}.",
            param=f"{where}.label",
        )
    return label


_WINNERS = {"response_1": "1", "response_2": "2", "tie": "tie"}


def gold_label(label: JsonValue) -> JsonValue:
    """A stored label's overall verdict: the label itself, or the ``overall`` of one with criteria."""
    return label.get("overall") if isinstance(label, dict) else label


def labeled_line(custom_id: str, judgment: Judgment, labels: dict[str, Label]) -> LabeledLine:
    """The judge's side of a labeled line: its verdict as a label, swap consistency, ensemble unanimity."""
    ensemble = judgment.ensemble
    unanimous = None if ensemble is None or ensemble.agreement is None else ensemble.agreement == 1.0
    if isinstance(judgment, PairwiseJudgment):
        verdict: Label | None = _WINNERS[judgment.winner] if judgment.scored and judgment.winner else None
        consistent = judgment.swap.consistent if judgment.swap is not None else None
        return LabeledLine(custom_id, "pairwise", verdict, labels, consistent, unanimous)
    score = judgment.overall_score if judgment.scored else None
    verdict = None if score is None else round(score)
    return LabeledLine(custom_id, "single", verdict, labels, None, unanimous)


class LabelService:
    def __init__(
        self, labels: LabelStore, files: FileStore, blobs: BlobStore, batches: BatchService, clock: Clock
    ) -> None:
        self.labels = labels
        self.files = files
        self.blobs = blobs
        self.batches = batches
        self.clock = clock

    async def _judgments(self, tenant: str, batch_id: str) -> dict[str, Judgment]:
        """The batch's labelable lines: custom_id → its judgment, from the output file."""
        return {cid: judgment for cid, (_, judgment) in (await self.judged_lines(tenant, batch_id)).items()}

    async def judged_lines(self, tenant: str, batch_id: str) -> dict[str, tuple[str, Judgment]]:
        """The batch's labelable lines: custom_id → (the model that judged it, its judgment)."""
        record = await self.batches.get(tenant, batch_id)
        out = record.output_file_id
        if out is None or await self.files.get(tenant, out) is None:
            raise InvalidRequest(
                f"Batch {batch_id} has no output file (status {record.status}); "
                "labels are about its verdicts.",
                param="batch_id",
            )
        found: dict[str, tuple[str, Judgment]] = {}
        async for raw in split_lines(self.blobs.read(out)):
            try:
                line = orjson.loads(raw) if raw.strip() else None
            except orjson.JSONDecodeError:
                continue
            if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
                continue
            response = line.get("response")
            body = response.get("body") if isinstance(response, dict) else None
            judgment = read_judgment(body.get("judgment")) if isinstance(body, dict) else "no body"
            if not isinstance(judgment, str) and isinstance(body, dict):
                found[line["custom_id"]] = (str(body.get("model", "")), judgment)
        return found

    async def _kinds(self, tenant: str, batch_id: str) -> dict[str, Kind]:
        kinds: dict[str, Kind] = {}
        for custom_id, judgment in (await self._judgments(tenant, batch_id)).items():
            if isinstance(judgment, PairwiseJudgment):
                kinds[custom_id] = ("pairwise", None)
            else:
                low, high = judgment.score_range
                kinds[custom_id] = ("single", (float(low), float(high)))
        return kinds

    async def agreement(self, tenant: str, batch_id: str, rounds: int = 1000, seed: int = 0) -> Agreement:
        """The judge's agreement with the batch's human labels (``evaluation.agreement``)."""
        judgments = await self._judgments(tenant, batch_id)
        by_line: dict[str, dict[str, Label]] = {}
        for record in await self.labels.list(tenant, batch_id):
            if isinstance(record.label, str | int) and record.custom_id in judgments:
                by_line.setdefault(record.custom_id, {})[record.annotator] = record.label
        lines = [
            labeled_line(custom_id, judgments[custom_id], labels) for custom_id, labels in by_line.items()
        ]
        return await asyncio.to_thread(agreement, lines, rounds, seed)

    async def post(self, tenant: str, batch_id: str, items: list[object]) -> list[LabelRecord]:
        kinds = await self._kinds(tenant, batch_id)
        now = int(self.clock.now())
        records: list[LabelRecord] = []
        for i, item in enumerate(items):
            where = f"labels[{i}]"
            if not isinstance(item, Mapping):
                raise InvalidRequest(f"{where} must be an object.", param=where)
            custom_id = item.get("custom_id")
            if not isinstance(custom_id, str) or not custom_id:
                raise InvalidRequest(
                    f"{where}.custom_id must be a non-empty string.", param=f"{where}.custom_id"
                )
            if custom_id not in kinds:
                raise InvalidRequest(
                    f"{where}.custom_id {custom_id!r} is not a judged line of batch {batch_id}.",
                    param=f"{where}.custom_id",
                )
            annotator = item.get("annotator", DEFAULT_ANNOTATOR)
            if not isinstance(annotator, str) or not annotator:
                raise InvalidRequest(
                    f"{where}.annotator must be a non-empty string.", param=f"{where}.annotator"
                )
            note = item.get("note")
            if note is not None and not isinstance(note, str):
                raise InvalidRequest(f"{where}.note must be a string.", param=f"{where}.note")
            label = _check_label(item.get("label"), kinds[custom_id], where)
            records.append(LabelRecord(tenant, batch_id, custom_id, annotator, label, note, now))
        await self.labels.put(records)
        return records

    async def list(self, tenant: str, batch_id: str) -> list[LabelRecord]:
        await self.batches.get(tenant, batch_id)
        return await self.labels.list(tenant, batch_id)

    async def delete(self, tenant: str, batch_id: str, custom_id: str, annotator: str) -> None:
        await self.batches.get(tenant, batch_id)
        if not await self.labels.delete(tenant, batch_id, custom_id, annotator):
            raise NotFound(f"No label of {custom_id!r} by {annotator!r} on batch {batch_id}.")


def wire(record: LabelRecord) -> dict[str, JsonValue]:
    return {
        "object": "batch.label",
        "custom_id": record.custom_id,
        "annotator": record.annotator,
        "label": record.label,
        "note": record.note,
        "created_at": record.created_at,
    }
