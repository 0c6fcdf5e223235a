"""What the store holds. The store speaks these records, never wire models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Batch statuses (OpenAI names; the PAI-compatible spelling is an API concern).
VALIDATING = "validating"
FAILED = "failed"
IN_PROGRESS = "in_progress"
FINALIZING = "finalizing"
COMPLETED = "completed"
EXPIRED = "expired"
CANCELLING = "cancelling"
CANCELLED = "cancelled"
TERMINAL = frozenset({COMPLETED, FAILED, EXPIRED, CANCELLED})

# Request-line states.
QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
ERRORED = "errored"
LINE_EXPIRED = "expired"


@dataclass(frozen=True)
class FileRecord:
    id: str
    tenant: str
    purpose: str
    filename: str
    bytes: int
    created_at: int
    expires_at: int | None = None
    storage: str = "disk"


@dataclass
class BatchRecord:
    id: str
    tenant: str
    endpoint: str
    input_file_id: str
    completion_window: str
    status: str
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
    outcome: str | None = None  # the terminal status finalizing leads to
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


@dataclass(frozen=True)
class FinishedLine:
    line: int
    custom_id: str
    state: str
    response: str | None
    request_id: str | None


@dataclass
class Page:
    items: list[Any] = field(default_factory=list)
    has_more: bool = False
