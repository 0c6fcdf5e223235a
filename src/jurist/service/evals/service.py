"""The Evals use case: evals (create, list, get, update, delete), their runs (create, list, get, cancel,
delete) and the runs' output items, per tenant (another tenant's ids are a 404).

A run is executed by the batch runner: its rows become the lines of an internal batch (endpoint
``/v1/evals/runs``, visible in /v1/batches with ``metadata.eval_run_id``), so it gets the runner's fair
share, tenant limits, shared upstream limits, usage, drain and retries, and each row is graded exactly
once whatever crashes (``rows`` writes one output item per row). The run's status follows its batch:
validating → ``queued``; in progress or finalizing → ``in_progress``; completed → ``completed``; failed or
expired → ``failed``; cancelled → ``canceled`` (a cancel is ``canceled`` at once; rows already graded
are kept)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Collection, Mapping, Sequence

import orjson

from jurist.errors import InvalidRequest, NotFound
from jurist.ids import Clock, new_id
from jurist.protocol.batches import BatchStatus
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.service.evals.anchoring import anchored_comparison
from jurist.service.evals.compare import Settings, compare, runs_of
from jurist.service.evals.criteria import GraderRules, testing_criteria
from jurist.service.evals.data_sources import MAX_ROWS, Row, check_data_source, rows_of_content, rows_of_lines
from jurist.service.evals.definitions import CREATE_FIELDS, check_metadata, check_name, data_source_config
from jurist.service.evals.digests import run_digests
from jurist.service.evals.head_to_head import SOURCE_TYPE as HEAD_TO_HEAD
from jurist.service.jobs.batches import BatchService
from jurist.service.jobs.files import FileService
from jurist.store.blobs import BlobStore, split_lines
from jurist.store.eval_records import EvalRecord, EvalRunRecord, EvalStore, Order, OutputItemRecord
from jurist.store.labels import LabelStore
from jurist.store.records import Page

EVAL_ENDPOINT = "/v1/evals/runs"  # the internal batches that run evals
TERMINAL = ("completed", "failed", "canceled")
_FROM_BATCH = {
    BatchStatus.VALIDATING: "queued",
    BatchStatus.IN_PROGRESS: "in_progress",
    BatchStatus.FINALIZING: "in_progress",
    BatchStatus.CANCELLING: "canceled",
    BatchStatus.CANCELLED: "canceled",
    BatchStatus.COMPLETED: "completed",
    BatchStatus.FAILED: "failed",
    BatchStatus.EXPIRED: "failed",
}


def eval_not_found(eval_id: str) -> NotFound:
    return NotFound(f"No eval found with id '{eval_id}'.", param="eval_id")


def run_not_found(run_id: str) -> NotFound:
    return NotFound(f"No eval run found with id '{run_id}'.", param="run_id")


class EvalService:
    def __init__(
        self,
        store: EvalStore,
        files: FileService,
        blobs: BlobStore,
        batches: BatchService,
        models: Collection[str],
        rules: GraderRules,
        clock: Clock,
        model_digests: Mapping[str, str] | None = None,
        labels: LabelStore | None = None,
    ) -> None:
        self.store = store
        self.files = files
        self.blobs = blobs
        self.batches = batches
        self.models = models
        self.rules = rules
        self.clock = clock
        self.model_digests = model_digests or {}  # model → digest of its answer-deciding configuration
        self.labels = labels  # human labels of runs' lines (comparisons anchored on them)

    # ------------------------------------------------------------ evals
    async def create(self, tenant: str, body: JSONObject) -> EvalRecord:
        unknown = sorted(set(body) - CREATE_FIELDS)
        if unknown:
            raise InvalidRequest(f"Unknown field {unknown[0]!r}.", param=unknown[0])
        name = check_name(body.get("name"))
        stored: JSONObject = {
            "data_source_config": data_source_config(body.get("data_source_config")),
            "testing_criteria": testing_criteria(body.get("testing_criteria"), self.rules),
            "metadata": check_metadata(body.get("metadata")),  # type: ignore[dict-item]
        }
        now = int(self.clock.now())
        record = EvalRecord(new_id("eval_", 16), tenant, name or "", stored, now, now)
        await self.store.add_eval(record)
        return record

    async def get(self, tenant: str, eval_id: str) -> EvalRecord:
        record = await self.store.get_eval(tenant, eval_id)
        if record is None:
            raise eval_not_found(eval_id)
        return record

    async def update(self, tenant: str, eval_id: str, body: JSONObject) -> EvalRecord:
        """Only ``name`` and ``metadata`` change (metadata is replaced whole, as OpenAI does)."""
        unknown = sorted(set(body) - {"name", "metadata"})
        if unknown:
            raise InvalidRequest(
                f"Only name and metadata can be updated, not {unknown[0]!r}.", param=unknown[0]
            )
        record = await self.get(tenant, eval_id)
        name = check_name(body.get("name"))
        stored = dict(record.body)
        if "metadata" in body:
            stored["metadata"] = check_metadata(body.get("metadata"))  # type: ignore[assignment]
        now = int(self.clock.now())
        new_name = record.name if name is None else name
        if not await self.store.update_eval(tenant, eval_id, new_name, stored, now):
            raise eval_not_found(eval_id)
        return EvalRecord(record.id, tenant, new_name, stored, record.created_at, now)

    async def delete(self, tenant: str, eval_id: str) -> None:
        """The eval, its runs and their output items (runs in progress are cancelled first)."""
        await self.get(tenant, eval_id)
        page = await self.store.list_runs(tenant, eval_id, None, 10_000, "asc", None)
        for run in page.items:
            if run.batch_id is not None and run.status not in TERMINAL:
                await self._cancel_batch(tenant, run.batch_id)
        if not await self.store.delete_eval(tenant, eval_id):
            raise eval_not_found(eval_id)

    async def list_evals(
        self, tenant: str, after: str | None, limit: int, order: Order, by_updated: bool
    ) -> Page[EvalRecord]:
        return await self.store.list_evals(tenant, after, limit, order, by_updated)

    # ------------------------------------------------------------- runs
    async def create_run(self, tenant: str, eval_id: str, body: JSONObject) -> EvalRunRecord:
        """Check the run, write its rows as an internal batch's lines, and queue it."""
        record = await self.get(tenant, eval_id)
        unknown = sorted(set(body) - {"name", "metadata", "data_source"})
        if unknown:
            raise InvalidRequest(f"Unknown field {unknown[0]!r}.", param=unknown[0])
        name = check_name(body.get("name"))
        metadata = check_metadata(body.get("metadata"))
        source = check_data_source(body.get("data_source"), self.models)
        rows = await self._rows(tenant, source)
        return await self.start_run(tenant, record, name, metadata, source, rows)

    async def start_run(
        self,
        tenant: str,
        record: EvalRecord,
        name: str | None,
        metadata: dict[str, str] | None,
        source: JSONObject,
        rows: Sequence[Row],
        own: JSONObject | None = None,
    ) -> EvalRunRecord:
        """Write the rows as an internal batch's lines and queue the run. ``own``: what the run keeps of
        its own (a head-to-head run's ``testing_criteria`` and counts), graded by those criteria."""
        run_id = new_id("evalrun_", 16)
        lane = self._lane(record, source)
        lines = b"".join(
            orjson.dumps({"custom_id": f"row-{row.index}", "method": "POST", "url": EVAL_ENDPOINT,
                          "body": {"model": lane, "cache": False, "eval_run": run_id, "row": row.index,
                                   "data": row.data}}) + b"\n"
            for row in rows
        )  # fmt: skip

        async def chunks() -> AsyncIterator[bytes]:
            yield lines

        upload = await self.files.upload(tenant, f"{run_id}.jsonl", "batch", chunks())
        now = int(self.clock.now())
        model = source.get("model") if source.get("type") == "completions" else None
        content: str | None = None
        spec = source.get("source")
        if isinstance(spec, dict) and spec.get("type") == "file_content":  # kept apart, echoed unparsed
            content = orjson.dumps(spec.get("content")).decode()
            source = {**source, "source": {k: v for k, v in spec.items() if k != "content"}}
        criteria = (own or record.body).get("testing_criteria")
        digests = run_digests(
            criteria if isinstance(criteria, list) else [], source, rows, self.model_digests
        )
        stored: JSONObject = {"data_source": source, "metadata": metadata, "model": model, "rows": len(rows),  # type: ignore[dict-item]
                              "digests": digests, **(own or {})}  # fmt: skip
        run = EvalRunRecord(
            run_id,
            tenant,
            record.id,
            name or f"run {run_id[-8:]}",
            "queued",
            stored,
            now,
            now,
            content=content,
        )
        await self.store.add_run(run)
        batch = await self.batches.create(
            tenant,
            {"input_file_id": upload.id, "endpoint": EVAL_ENDPOINT, "completion_window": "24h",
             "metadata": {"eval_id": record.id, "eval_run_id": run_id}},
            endpoints=(EVAL_ENDPOINT,),
        )  # fmt: skip
        await self.store.set_run(tenant, run_id, now, batch_id=batch.id)
        return EvalRunRecord(
            run_id, tenant, record.id, run.name, "queued", stored, now, now, batch.id, content=content
        )

    def _lane(self, record: EvalRecord, source: JSONObject) -> str:
        """The model whose runner lane (and concurrency) the run's rows take: the sampled model, else the
        first model grader's, else the first configured model (grading without a model is quick)."""
        if source.get("type") in ("completions", HEAD_TO_HEAD):  # a head-to-head's: its judge
            return str(source["model"])
        for criterion in record.body.get("testing_criteria") or []:  # type: ignore[union-attr]
            if isinstance(criterion, dict) and isinstance(criterion.get("model"), str):
                return str(criterion["model"])
        return sorted(self.models)[0]

    async def _rows(self, tenant: str, source: JSONObject) -> list[Row]:
        spec = source["source"]
        assert isinstance(spec, dict)  # checked
        if spec.get("type") == "file_content":
            content = spec.get("content")
            assert isinstance(content, list)
            rows = rows_of_content(content)
        else:
            file_id = str(spec.get("id"))
            found = await self.files.store.get(tenant, file_id)
            if found is None:
                raise NotFound(f"No such File object: {file_id}", param="data_source.source.id")
            if found.purpose not in ("evals", "user_data"):
                raise InvalidRequest(
                    f"File {file_id} has purpose {found.purpose!r}; an eval run reads files of purpose "
                    "'evals'.",
                    param="data_source.source.id",
                )
            rows = rows_of_lines([raw async for raw in split_lines(self.blobs.read(file_id))])
        if not rows:
            raise InvalidRequest("The data source holds no rows.", param="data_source.source")
        if len(rows) > MAX_ROWS:
            raise InvalidRequest(
                f"A run takes at most {MAX_ROWS} rows; this one has {len(rows)}.", param="data_source.source"
            )
        return rows

    async def get_run(self, tenant: str, eval_id: str, run_id: str) -> EvalRunRecord:
        run = await self.store.get_run(tenant, eval_id, run_id)
        if run is None:
            raise run_not_found(run_id)
        return await self._synced(run)

    async def _synced(self, run: EvalRunRecord) -> EvalRunRecord:
        """The run with the status its batch has reached (kept once terminal)."""
        if run.status in TERMINAL or run.batch_id is None:
            return run
        batch = await self.batches.store.get(run.tenant, run.batch_id)
        if batch is None:
            return run
        status = _FROM_BATCH.get(batch.status, run.status)
        error: JSONObject | None = None
        if status == "failed":
            errors = batch.errors.get("data") if isinstance(batch.errors, dict) else None
            first: object = errors[0] if isinstance(errors, list) and errors else {}
            message = first.get("message") if isinstance(first, dict) else None
            error = {"code": "run_failed" if batch.status == BatchStatus.FAILED else "run_expired",
                     "message": str(message or f"the run's batch {batch.id} {batch.status}")}  # fmt: skip
        if status == run.status:
            return run
        now = int(self.clock.now())
        if status in TERMINAL:
            await self.store.set_run(
                run.tenant, run.id, now, status=status, error=error, only_from=("queued", "in_progress")
            )
        return dataclasses.replace(run, status=status, updated_at=now, error=error)

    async def list_runs(
        self, tenant: str, eval_id: str, after: str | None, limit: int, order: Order, status: str | None
    ) -> Page[EvalRunRecord]:
        await self.get(tenant, eval_id)
        page = await self.store.list_runs(tenant, eval_id, after, limit, order, status)
        return Page([await self._synced(r) for r in page.items], page.has_more)

    async def cancel_run(self, tenant: str, eval_id: str, run_id: str) -> EvalRunRecord:
        """A queued or running run is ``canceled`` now; its rows not yet graded are not graded. A run
        that has ended is returned as it is."""
        run = await self.get_run(tenant, eval_id, run_id)
        if run.status in TERMINAL:
            return run
        now = int(self.clock.now())
        await self.store.set_run(tenant, run_id, now, status="canceled", only_from=("queued", "in_progress"))
        if run.batch_id is not None:
            await self._cancel_batch(tenant, run.batch_id)
        return await self.get_run(tenant, eval_id, run_id)

    async def _cancel_batch(self, tenant: str, batch_id: str) -> None:
        with contextlib.suppress(NotFound):  # its batch is gone already
            await self.batches.cancel(tenant, batch_id)

    async def delete_run(self, tenant: str, eval_id: str, run_id: str) -> None:
        run = await self.get_run(tenant, eval_id, run_id)
        if run.batch_id is not None and run.status not in TERMINAL:
            await self._cancel_batch(tenant, run.batch_id)
        if not await self.store.delete_run(tenant, eval_id, run_id):
            raise run_not_found(run_id)

    async def compare_runs(
        self, tenant: str, eval_id: str, ids: Mapping[str, str], settings: Settings
    ) -> JSONObject:
        """Base against candidate, row by row (``compare``; a run of another eval or tenant is a 404)."""
        record = await self.get(tenant, eval_id)
        found = {param: await self.store.get_run(tenant, eval_id, run_id) for param, run_id in ids.items()}
        base, candidate = runs_of(found, ids)
        base, candidate = await self._synced(base), await self._synced(candidate)
        rows = [await self.store.graded_rows(tenant, run.id) for run in (base, candidate)]
        criteria = record.body.get("testing_criteria")
        listed = criteria if isinstance(criteria, list) else []
        result = await asyncio.to_thread(compare, base, candidate, listed, rows[0], rows[1], settings)
        if self.labels is not None:  # the figures anchored on human labels of the runs' lines
            result["anchored"] = await anchored_comparison(
                self.store, self.labels, (base, candidate), listed, (rows[0], rows[1]), settings.alpha
            )
        return result

    # ----------------------------------------------------- output items
    async def list_items(
        self,
        tenant: str,
        eval_id: str,
        run_id: str,
        after: str | None,
        limit: int,
        order: Order,
        status: str | None,
    ) -> Page[OutputItemRecord]:
        await self.get_run(tenant, eval_id, run_id)
        stored = {"pass": "pass", "fail": "fail", "error": "error", "errored": "error", "failed": "fail"}
        return await self.store.list_items(
            tenant, run_id, after, limit, order, None if status is None else stored[status]
        )

    async def get_item(self, tenant: str, eval_id: str, run_id: str, item_id: str) -> OutputItemRecord:
        await self.get_run(tenant, eval_id, run_id)
        item = await self.store.get_item(tenant, run_id, item_id)
        if item is None:
            raise NotFound(f"No output item found with id '{item_id}'.", param="output_item_id")
        return item


def row_of(body: JsonValue) -> tuple[str, int, JsonValue] | None:
    """(run id, row index, row data) of an eval batch line's body; None when it is not one."""
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("eval_run"), str)
        or not isinstance(body.get("row"), int)
    ):
        return None
    return str(body["eval_run"]), int(body["row"]), body.get("data")  # type: ignore[arg-type]
