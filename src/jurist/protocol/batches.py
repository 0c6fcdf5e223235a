"""Batch API wire models."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from jurist.protocol.json_types import JSONObject


class BatchStatus(StrEnum):
    """OpenAI's batch statuses (the PAI-compatible spelling is ``PAI_STATUS``)."""

    VALIDATING = "validating"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({BatchStatus.COMPLETED, BatchStatus.FAILED, BatchStatus.EXPIRED, BatchStatus.CANCELLED})


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    input_file_id: str = Field(min_length=1)
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None = None
    model: str | None = None


class BatchError(BaseModel):
    code: str
    message: str
    param: str | None = None
    line: int | None = None


class BatchErrors(BaseModel):
    object: Literal["list"] = "list"
    data: list[BatchError]


class RequestCounts(BaseModel):
    total: int
    completed: int
    failed: int


class InputTokensDetails(BaseModel):
    cached_tokens: int = 0


class OutputTokensDetails(BaseModel):
    reasoning_tokens: int = 0


class BatchUsage(BaseModel):
    input_tokens: int
    input_tokens_details: InputTokensDetails = InputTokensDetails()
    output_tokens: int
    output_tokens_details: OutputTokensDetails = OutputTokensDetails()
    total_tokens: int


class Batch(BaseModel):
    """Every field is always present, ``null`` when unset."""

    id: str
    object: Literal["batch"] = "batch"
    endpoint: str
    model: str | None
    errors: BatchErrors | None
    input_file_id: str
    completion_window: str
    status: BatchStatus
    output_file_id: str | None
    error_file_id: str | None
    created_at: int
    in_progress_at: int | None
    expires_at: int | None
    finalizing_at: int | None
    completed_at: int | None
    failed_at: int | None
    expired_at: int | None
    cancelling_at: int | None
    cancelled_at: int | None
    request_counts: RequestCounts
    usage: BatchUsage | None
    metadata: dict[str, str] | None

    def pai_compatible(self) -> JSONObject:
        """PAI's own spelling (seed 000): its status names and ``in_process_at`` / ``FinalizingAt``."""
        data = self.model_dump(mode="json")
        data["status"] = PAI_STATUS[self.status]
        data["in_process_at"] = data.pop("in_progress_at")
        data["FinalizingAt"] = data.pop("finalizing_at")
        return data


# PAI documents "Creating" and "Succeeded"; the other names follow the same style.
PAI_STATUS = {
    BatchStatus.VALIDATING: "Creating",
    BatchStatus.IN_PROGRESS: "Running",
    BatchStatus.FINALIZING: "Finalizing",
    BatchStatus.COMPLETED: "Succeeded",
    BatchStatus.FAILED: "Failed",
    BatchStatus.EXPIRED: "Expired",
    BatchStatus.CANCELLING: "Cancelling",
    BatchStatus.CANCELLED: "Cancelled",
}


class BatchList(BaseModel):
    object: Literal["list"] = "list"
    data: list[JSONObject]
    first_id: str | None
    last_id: str | None
    has_more: bool
