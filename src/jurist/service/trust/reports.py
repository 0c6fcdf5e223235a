"""The batch-report use case: stream a batch's stored files (input for competitors and answer lengths,
output, errors) line by line into ``evaluation.report`` and compute the report off the event loop. A
batch with human labels gets the report's ``agreement`` and ``confidence`` sections (and the agreement
of its selective lines) from them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
from pydantic import BaseModel, ConfigDict

from jurist.errors import InvalidRequest
from jurist.evaluation.agreement import Label
from jurist.evaluation.report import ReportBuilder
from jurist.evaluation.report_model import Report
from jurist.service.jobs.batches import BatchService
from jurist.service.trust.labels import LabelService
from jurist.store.blobs import BlobStore, split_lines
from jurist.store.files import FileStore

MALFORMED = object()


class BatchRef(BaseModel):
    """Which batch (and which of its files) a report was computed from."""

    model_config = ConfigDict(frozen=True)

    id: str
    status: str
    input_file_id: str
    output_file_id: str | None
    error_file_id: str | None


class BatchReport(Report):
    """A batch's report: the ``Report`` and, last, the ``batch`` it is about. Its ``agreement`` with
    human labels is there only for a batch with labels, so the report of one without is unchanged."""

    batch: BatchRef


class ReportService:
    def __init__(
        self, files: FileStore, blobs: BlobStore, batches: BatchService, labels: LabelService | None = None
    ) -> None:
        self.files = files
        self.blobs = blobs
        self.batches = batches
        self.labels = labels

    async def _lines(self, tenant: str, file_id: str | None) -> AsyncIterator[object]:
        """Parsed lines of one of the tenant's files, streamed; nothing when it is gone."""
        if file_id is None or await self.files.get(tenant, file_id) is None:
            return
        async for raw in split_lines(self.blobs.read(file_id)):
            if raw.strip():
                try:
                    yield orjson.loads(raw)
                except orjson.JSONDecodeError:
                    yield MALFORMED

    async def report(self, tenant: str, batch_id: str, rounds: int = 1000, seed: int = 0) -> BatchReport:
        """The report of a batch of the tenant's (another tenant's batch is a 404, as on GET)."""
        record = await self.batches.get(tenant, batch_id)
        if record.output_file_id is None and record.error_file_id is None:
            raise InvalidRequest(
                f"Batch {batch_id} has no output file yet (status {record.status}); "
                "a report needs the batch's results.",
                param="batch_id",
            )
        builder = ReportBuilder()
        async for line in self._lines(tenant, record.input_file_id):
            builder.add_input(line)
        async for line in self._lines(tenant, record.output_file_id):
            builder.add_output(line)
        async for line in self._lines(tenant, record.error_file_id):
            builder.add_error(line)
        records = await self.labels.labels.list(tenant, batch_id) if self.labels is not None else []
        labels: dict[str, dict[str, Label]] = {}
        for label in records:  # the verdict labels ("1" | "2" | "tie" or a score)
            if isinstance(label.label, str | int):
                labels.setdefault(label.custom_id, {})[label.annotator] = label.label
        report = await asyncio.to_thread(builder.build, rounds, seed, 0.95, labels if records else None)
        notes = list(report.notes)
        if not builder.input_lines:
            notes.append(f"The input file {record.input_file_id} is gone: no competitors or lengths.")
        batch = BatchRef(
            id=record.id,
            status=record.status,
            input_file_id=record.input_file_id,
            output_file_id=record.output_file_id,
            error_file_id=record.error_file_id,
        )
        data = {**dict(report), "notes": notes, "batch": batch}
        if self.labels is not None and records and record.output_file_id is not None:
            data["agreement"] = await self.labels.agreement(tenant, batch_id, rounds, seed)
        return BatchReport.model_validate(data)
