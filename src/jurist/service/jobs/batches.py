"""The Batch use case: create (parameters checked now, the file's lines by the runner), get, list,
cancel; and the Batch wire object."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError

from jurist.errors import Conflict, InvalidRequest, NotFound
from jurist.ids import Clock, new_id
from jurist.protocol.batches import (
    Batch,
    BatchCreate,
    BatchErrors,
    BatchList,
    BatchStatus,
    BatchUsage,
    RequestCounts,
)
from jurist.protocol.json_types import JSONObject
from jurist.service.jobs.files import not_found as file_not_found
from jurist.service.tenancy.limits import BatchLimits
from jurist.service.validation import first_error
from jurist.store.batches import BatchStore
from jurist.store.files import FileStore
from jurist.store.records import BatchRecord, Page
from jurist.store.tenants import TenantPolicy

ENDPOINTS = ("/v1/chat/completions",)
WINDOW_SECONDS = {"24h": 86400}


def batch_object(record: BatchRecord) -> Batch:
    used = record.input_tokens + record.output_tokens
    return Batch(
        id=record.id,
        endpoint=record.endpoint,
        model=record.model,
        errors=BatchErrors.model_validate({"data": record.errors}) if record.errors else None,
        input_file_id=record.input_file_id,
        completion_window=record.completion_window,
        status=record.status,
        output_file_id=record.output_file_id,
        error_file_id=record.error_file_id,
        created_at=record.created_at,
        in_progress_at=record.in_progress_at,
        expires_at=record.expires_at,
        finalizing_at=record.finalizing_at,
        completed_at=record.completed_at,
        failed_at=record.failed_at,
        expired_at=record.expired_at,
        cancelling_at=record.cancelling_at,
        cancelled_at=record.cancelled_at,
        request_counts=RequestCounts(total=record.total, completed=record.completed, failed=record.failed),
        usage=BatchUsage(
            input_tokens=record.input_tokens, output_tokens=record.output_tokens, total_tokens=used
        )
        if used
        else None,
        metadata=record.metadata,
    )


def not_found(batch_id: str) -> NotFound:
    return NotFound(f"No such Batch object: {batch_id}", param="batch_id")


def _check_metadata(metadata: dict[str, str] | None) -> None:
    if metadata is None:
        return
    if len(metadata) > 16:
        raise InvalidRequest("metadata may hold at most 16 key-value pairs.", param="metadata")
    for key, value in metadata.items():
        if len(key) > 64:
            raise InvalidRequest(
                f"metadata key {key[:20]!r}… is longer than 64 characters.", param="metadata"
            )
        if len(value) > 512:
            raise InvalidRequest(
                f"metadata value for {key!r} is longer than 512 characters.", param="metadata"
            )


class BatchService:
    def __init__(
        self,
        store: BatchStore,
        files: FileStore,
        clock: Clock,
        style: str = "openai",
        limits: BatchLimits | None = None,
    ) -> None:
        self.store = store
        self.files = files
        self.clock = clock
        self.style = style
        self.limits = limits  # batches in progress and queued lines per account (None: unlimited)
        self.on_change: Callable[[], None] | None = None  # an in-process worker's nudge

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def wire(self, record: BatchRecord) -> JSONObject:
        batch = batch_object(record)
        return batch.pai_compatible() if self.style == "pai" else batch.model_dump(mode="json")

    async def create(
        self,
        tenant: str,
        body: JSONObject,
        idempotency_key: str | None = None,
        policy: TenantPolicy | None = None,
        endpoints: tuple[str, ...] = ENDPOINTS,
    ) -> BatchRecord:
        """Create a batch. With an ``Idempotency-Key``, a retried create returns the batch the first
        call made instead of a duplicate (the SDK retries POSTs on timeouts and 5xx). A valid batch
        past the ``policy``'s batches in progress or queued lines is refused (429)."""
        if idempotency_key:
            existing = await self.store.by_idempotency_key(tenant, idempotency_key)
            if existing is not None:
                return existing
        try:
            params = BatchCreate.model_validate(body)
        except ValidationError as exc:
            message, param = first_error(exc)
            raise InvalidRequest(message, param=param) from exc
        if params.endpoint not in endpoints:
            raise InvalidRequest(
                f"Unsupported endpoint {params.endpoint!r}; Jurist runs batches of {', '.join(endpoints)}.",
                param="endpoint",
            )
        if params.completion_window not in WINDOW_SECONDS:
            raise InvalidRequest("completion_window must be '24h'.", param="completion_window")
        _check_metadata(params.metadata)
        source = await self.files.get(tenant, params.input_file_id)
        if source is None:
            raise file_not_found(params.input_file_id, param="input_file_id")
        if source.purpose != "batch":
            raise InvalidRequest(
                f"File {source.id} has purpose {source.purpose!r}; batch input needs purpose 'batch'.",
                param="input_file_id",
            )
        if self.limits is not None and policy is not None:
            await self.limits.check_create(tenant, policy)
        now = int(self.clock.now())
        record = BatchRecord(
            id=new_id("batch_", 12),
            tenant=tenant,
            endpoint=params.endpoint,
            input_file_id=source.id,
            completion_window=params.completion_window,
            status=BatchStatus.VALIDATING,
            created_at=now,
            expires_at=now + WINDOW_SECONDS[params.completion_window],
            metadata=params.metadata,
            idempotency_key=idempotency_key or None,
        )
        try:
            await self.store.insert(record)
        except Conflict:
            if idempotency_key:  # a concurrent retry with the same key won the race
                existing = await self.store.by_idempotency_key(tenant, idempotency_key)
                if existing is not None:
                    return existing
            raise
        self._changed()
        return record

    async def get(self, tenant: str, batch_id: str) -> BatchRecord:
        record = await self.store.get(tenant, batch_id)
        if record is None:
            raise not_found(batch_id)
        return record

    async def page(self, tenant: str, *, after: str | None, limit: int) -> Page[BatchRecord]:
        """The tenant's batches, newest first, after the batch ``after`` (the console's list)."""
        return await self.store.page(tenant, after=after, limit=limit)

    async def list(self, tenant: str, *, after: str | None, limit: int) -> BatchList:
        page = await self.page(tenant, after=after, limit=limit)
        data = [self.wire(r) for r in page.items]
        return BatchList(
            data=data,
            first_id=data[0]["id"] if data else None,
            last_id=data[-1]["id"] if data else None,
            has_more=page.has_more,
        )

    async def cancel(self, tenant: str, batch_id: str) -> BatchRecord:
        record = await self.store.request_cancel(tenant, batch_id, int(self.clock.now()))
        if record is None:
            raise not_found(batch_id)
        if record.status.is_terminal and record.status != BatchStatus.CANCELLED:
            raise InvalidRequest(f"Cannot cancel a batch with status '{record.status}'.", param="batch_id")
        self._changed()
        return record
