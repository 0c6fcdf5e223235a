"""The shapes of Jurist's JSON answers that are written without a pydantic model (labels, usage), for
``/openapi.json`` only. The API tests validate real answers against the published schemas, so a change
of the wire that is not made here fails them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from jurist.protocol.json_types import JSONObject

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


class RefittedCalibration(BaseModel):
    id: str
    model: str
    mode: Literal["single", "pairwise"]
    version: int


class BatchLabelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[BatchLabel]
    has_more: bool = False
    calibrations: list[RefittedCalibration] | None = Field(
        default=None,
        description="POST only: the calibrations refitted on these labels (one per model and mode judged, "
        "once it has at least 10 labelled verdicts).",
    )


class CalibrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="The judge model to calibrate (a cascade's stages are calibrated apart).")
    batches: list[str] = Field(min_length=1, description="Batches with labelled lines judged by it.")
    mode: Literal["single", "pairwise"] | None = Field(
        default=None, description="Needed only when the batches hold labelled lines of both modes."
    )


class CalibrationEstimate(BaseModel):
    value: float
    low: float
    high: float


class CalibrationBin(BaseModel):
    mean_confidence: float
    accuracy: float
    count: int


class CalibrationQuality(BaseModel):
    ece: CalibrationEstimate = Field(
        description="Expected calibration error (equal-mass bins), bootstrap 95% CI."
    )
    brier: CalibrationEstimate
    bins: list[CalibrationBin]
    in_sample: bool = Field(description="Measured on the items it was fitted on (optimistic).")


class CalibrationThreshold(BaseModel):
    agreement_target: float
    delta: float
    supported: bool
    threshold: float | None = Field(description="On the calibrated scale of judgment.confidence.")
    raw_threshold: float | None = Field(description="On the raw signal: accepted when it reaches this.")
    coverage: float = Field(description="The share of the labelled items accepted at this threshold.")
    reason: str


class Calibration(BaseModel):
    id: str
    object: Literal["calibration"] = "calibration"
    model: str
    mode: Literal["single", "pairwise"]
    version: int
    source: Literal["request", "labels"]
    created_at: int
    batches: list[str]
    items: int = Field(description="Labelled verdicts fitted on.")
    undecided: int = Field(
        description="Of the items, labelled lines whose verdict was unscored: fitted at the lowest "
        "confidence (0) as disagreed with, not left out."
    )
    agreement: float | None = Field(description="The share of them humans agreed with.")
    calibrator: JSONObject = Field(description="kind logistic (a, b) or isotonic (x, y), versioned.")
    quality: CalibrationQuality
    thresholds: list[CalibrationThreshold] = Field(description="For common agreement targets at delta 0.1.")


class CalibrationList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Calibration]
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
