"""What the store holds. The store speaks these records, never wire models (a batch's status is
OpenAI's vocabulary, ``protocol.batches.BatchStatus``; the states below are the store's own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from jurist.protocol.batches import BatchStatus
from jurist.store.usage import UsageCounts

T = TypeVar("T")


class LineState(StrEnum):
    """Where one request line of a batch is: queued → running (leased to a worker) → one final state."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    ERRORED = "errored"
    EXPIRED = "expired"  # the batch's completion window closed first
    CANCELLED = "cancelled"  # the batch was cancelled before the line ran


class FileStorage(StrEnum):
    """Where a file's bytes live (``store.blobs``)."""

    DISK = "disk"
    DATABASE = "database"


@dataclass(frozen=True)
class FileRecord:
    id: str
    tenant: str
    purpose: str
    filename: str
    bytes: int
    created_at: int
    expires_at: int | None = None
    storage: FileStorage = FileStorage.DISK


@dataclass
class BatchRecord:
    id: str
    tenant: str
    endpoint: str
    input_file_id: str
    completion_window: str
    status: BatchStatus
    created_at: int
    expires_at: int | None
    metadata: dict[str, str] | None = None
    model: str | None = None
    errors: list[dict[str, Any]] | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    in_progress_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    outcome: BatchStatus | None = None  # the terminal status finalizing leads to
    idempotency_key: str | None = None


@dataclass(frozen=True)
class RequestLine:
    """One validated input line, queued for execution."""

    line: int
    custom_id: str
    model: str
    body: str  # the request body as JSON text


@dataclass(frozen=True)
class ClaimedRequest:
    batch_id: str
    line: int
    custom_id: str
    model: str
    body: str
    attempts: int
    tenant: str = ""  # the batch's owner


@dataclass(frozen=True)
class RequestResult:
    """A finished line: ``response`` is the output line's response/error JSON text."""

    batch_id: str
    line: int
    succeeded: bool
    status_code: int | None
    request_id: str
    response: str
    input_tokens: int = 0
    output_tokens: int = 0
    usage: UsageCounts = field(default_factory=UsageCounts)  # what the line used (for usage reports)


@dataclass(frozen=True)
class FinishedLine:
    line: int
    custom_id: str
    state: LineState
    response: str | None
    request_id: str | None


@dataclass
class Page(Generic[T]):
    """One page of a keyset-paginated listing."""

    items: list[T] = field(default_factory=list)
    has_more: bool = False
