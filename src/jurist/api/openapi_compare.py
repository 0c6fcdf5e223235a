"""The answer of ``GET /v1/evals/{eval_id}/runs/compare`` as ``/openapi.json`` documents it (written as
plain JSON by ``service.evals.compare``; a test validates real answers against this)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from jurist.api.openapi_experiments import AnchoredComparison

Decision = Literal["better", "worse", "equivalent", "inconclusive"]


class PairedStatistics(BaseModel):
    kind: Literal["pass", "score"]
    n: int = Field(description="Rows graded in both runs.")
    base: float = Field(description="The base run's pass rate (pass) or mean score (score).")
    candidate: float
    delta: float = Field(description="candidate − base, paired by row.")
    ci_low: float
    ci_high: float = Field(description="The delta's two-sided (1 − alpha) interval.")
    improved: int
    regressed: int
    same: int
    test: Literal["mcnemar_exact", "wilcoxon"]
    p_value: float
    p_adjusted: float = Field(description="After Holm's correction across the criteria compared.")
    decision: Decision
    mde: float | None = Field(description="The minimum detectable |delta| at this n (80% power).")
    items_needed: int | None = Field(description="Rows that would probably decide an inconclusive result.")


class CriterionComparison(BaseModel):
    name: str
    pass_: PairedStatistics = Field(alias="pass")
    score: PairedStatistics
    errored: int = Field(description="Paired rows where this criterion errored in either run (left out).")


class ComparedItems(BaseModel):
    paired: int
    only_in_base: int
    only_in_candidate: int
    improved: int
    regressed: int
    same: int


class RowDiff(BaseModel):
    item_key: str
    base_index: int
    candidate_index: int
    base: Literal["pass", "fail", "error"]
    candidate: Literal["pass", "fail", "error"]
    base_verdicts: str = Field(description="P, F or E per testing criterion, in order.")
    candidate_verdicts: str


class EvalRunsComparison(BaseModel):
    object: Literal["eval.runs.comparison"] = "eval.runs.comparison"
    base: str
    candidate: str
    complete: bool = Field(description="Both runs have completed.")
    margin: float
    alpha: float
    mismatches: list[str] = Field(description="What about their grading differs (allow_mismatch=true).")
    items: ComparedItems
    overall: PairedStatistics
    criteria: list[CriterionComparison]
    diffs: list[RowDiff] = Field(description="Rows whose status changed: regressions first.")
    anchored: AnchoredComparison | None = Field(
        default=None,
        description="Figures anchored on human labels of the runs' lines (a single-mode jurist_judge "
        "criterion's); null when the eval has none.",
    )
