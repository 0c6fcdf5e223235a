"""The answers of Jurist's experiment endpoints as ``/openapi.json`` documents them (written as plain JSON
by ``service.evals.experiments`` and ``service.evals.anchored``; tests validate real answers against
these): figures anchored on human labels, head-to-head figures, and the Bradley–Terry board."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Decision = Literal["better", "worse", "equivalent", "inconclusive"]


class HeadToHeadCreate(BaseModel):
    """``POST /v1/evals/{eval_id}/runs/head_to_head``."""

    base: str = Field(description="The base run (answer 2 in the judge's first order).")
    candidate: str = Field(description="The candidate run (answer 1 in the judge's first order).")
    model: str = Field(description="A configured judge model; it judges both orders.")
    name: str | None = None
    metadata: dict[str, str] | None = None
    question: str | None = Field(
        default=None,
        description="A template over the base run's row, e.g. {{item.question}} (default: the user "
        "messages a completions run sampled with).",
    )
    answer: str = Field(default="{{sample.output_text}}", description="A template over each run's row.")
    criteria: str | None = Field(default=None, description="PAI's judging criteria text.")
    scene: str | None = Field(default=None, description="PAI's scene description.")


class Estimate(BaseModel):
    estimate: float
    ci_low: float
    ci_high: float
    n_labeled: int = Field(description="Items with a human label used.")
    n_unlabeled: int = Field(description="Items with the judge's value only.")
    effective_labels: float = Field(
        description="Labels a labels-only estimate would need for the same variance (0: judge only)."
    )
    lam: float = Field(description="PPI++'s power-tuning parameter (1: plain PPI, 0: labels only).")


class AnchoredFigure(BaseModel):
    judge_only: Estimate = Field(description="The judge's mean and naive interval: no label used.")
    ppi: Estimate = Field(description="The prediction-powered (PPI++) estimate anchored on the labels.")


class AnchoredRun(BaseModel):
    labels: int = Field(description="Labelled rows (a figure needs at least two).")
    pass_rate: AnchoredFigure | None
    mean_score: AnchoredFigure | None


class AnchoredComparison(BaseModel):
    criterion: str = Field(description="The jurist_judge criterion whose judgment the runs' lines carry.")
    pass_cut: float = Field(description="A score (judge's or label) at or above this passes.")
    base: AnchoredRun
    candidate: AnchoredRun
    delta: AnchoredRun = Field(description="candidate − base, paired, anchored on rows labelled in both.")


class Rate(BaseModel):
    estimate: float
    ci_low: float
    ci_high: float
    n: int


class HeadToHeadItems(BaseModel):
    paired: int = Field(description="Items both runs hold (the run's rows).")
    only_in_base: int
    only_in_candidate: int
    judged: int
    errored: int


class AnchoredWinRate(BaseModel):
    labels: int
    win_rate: AnchoredFigure | None


class HeadToHead(BaseModel):
    object: Literal["eval.run.head_to_head"] = "eval.run.head_to_head"
    run_id: str
    status: str
    base: str
    candidate: str
    model: str = Field(description="The pairwise judge.")
    alpha: float
    margin: float
    items: HeadToHeadItems
    n: int
    candidate_wins: int
    base_wins: int
    ties: int
    win_rate: Rate = Field(description="The candidate's wins plus half its ties, over the judged items.")
    tie_rate: Rate
    position_consistency: Rate | None = Field(description="Items whose two orders agreed.")
    p_value: float = Field(description="Exact sign test of wins against losses.")
    decision: Decision
    mde: float | None
    items_needed: int | None
    anchored: AnchoredWinRate


class BoardRating(BaseModel):
    run_id: str
    name: str | None
    rating: float = Field(description="Elo scale, mean 1000.")
    ci_low: float
    ci_high: float
    battles: int
    win_rate: float


class StyleCoefficient(BaseModel):
    feature: Literal["length", "headers", "bold", "lists"]
    coefficient: float | None
    ci_low: float | None
    ci_high: float | None


class Leaderboard(BaseModel):
    object: Literal["eval.leaderboard"] = "eval.leaderboard"
    style_control: bool
    battles: int
    head_to_head_runs: list[str]
    data: list[BoardRating] = Field(description="Best first.")
    style: list[StyleCoefficient] = Field(description="Empty without style control.")
