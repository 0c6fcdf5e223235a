"""The shapes of Jurist's JSON answers that are written without a pydantic model (labels, usage), for
``/openapi.json`` only. The API tests validate real answers against the published schemas, so a change
of the wire that is not made here fails them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

CriterionScores = dict[str, int | None]  # criterion name → integer score; null: not applicable


class LabelInput(BaseModel):
    """One human label (the body is a JSON list of them, or the same objects as JSONL)."""

    model_config = ConfigDict(extra="forbid")

    custom_id: Annotated[str, Field(min_length=1, description="A judged line of the batch's output.")]
    label: Literal["1", "2", "tie"] | int = Field(
        description='"1" | "2" | "tie" for a pairwise line; an integer score in the judgment\'s '
        "score_range for a single line."
    )
    criteria: CriterionScores | None = Field(
        default=None,
        description="Single lines only: criteria of the line's judgment → an integer score in its "
        "score_range, or null for N/A.",
    )
    annotator: Annotated[str, Field(min_length=1)] = "default"
    note: str | None = None


class BatchLabel(BaseModel):
    object: Literal["batch.label"] = "batch.label"
    custom_id: str
    annotator: str
    label: Literal["1", "2", "tie"] | int
    criteria: CriterionScores | None = Field(default=None, description="Present when the label has them.")
    note: str | None
    created_at: int


class BatchLabelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[BatchLabel]
    has_more: bool = False


class BatchLabelDeleted(BaseModel):
    object: Literal["batch.label.deleted"] = "batch.label.deleted"
    custom_id: str
    annotator: str
    deleted: bool = True


class UsageCounts(BaseModel):
    requests: int
    judge_calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cache_hits: int
    batch_lines: int
    cost: float


class UsageRow(UsageCounts):
    """The counts of one group; only the keys grouped by (``group_by``) are present."""

    tenant: str | None = None
    day: str | None = Field(default=None, description="YYYY-MM-DD (UTC).")
    model: str | None = None


class UsageReport(BaseModel):
    object: Literal["list"] = "list"
    data: list[UsageRow]
    totals: UsageCounts
    start: str = Field(description="The first day counted, YYYY-MM-DD (UTC).")
    end: str = Field(description="The last day counted, YYYY-MM-DD (UTC).")
