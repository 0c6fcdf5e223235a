"""The typed batch report that ``evaluation.report`` builds and the table, JSON and HTML renderers read.

    Report
    ├── lines             LineCounts: total, succeeded, failed, malformed, without judgment, judged, ...
    ├── failures_by_code  {code: count}, most frequent first
    ├── judge_models      {judge model: lines}, most frequent first
    ├── single            SingleSection: score distribution, overall and per-criterion means (CIs)
    ├── pairwise          PairwiseSection: outcomes, win rate, per-criterion means, leaderboard,
    │                     the style-controlled leaderboard with the style coefficients
    ├── health            JudgeHealth: parse failures, swap consistency, P(first shown wins), ...
    ├── method            Method: bootstrap rounds, seed, CI level, how ties count, the leaderboards' fits
    ├── notes             what the report could not compute, and why
    │   (the trust sections, each only when the batch has what it needs)
    ├── agreement         Agreement with the human labels (a labelled batch)
    ├── confidence        ConfidenceQuality: ECE, Brier and reliability bins of the judgments'
    │                     confidence against the human gold (a labelled batch)
    ├── selective         SelectiveSection: coverage of lines held to an agreement target, abstentions
    └── cascade           CascadeSection: what each stage of a cascade model decided, calls per line

The JSON form is ``model_dump(mode="json")``: every field always present (``null`` when there is no
figure), in the order above; a CI is ``[low, high]``. The trust sections are the exception: left out
when they do not apply, so the report of a batch without labels, abstentions or cascades is unchanged.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from jurist.evaluation.agreement import Agreement

CI = tuple[float, float]


class _Figure(BaseModel):
    model_config = ConfigDict(frozen=True)


class LineCounts(_Figure):
    """What became of the batch's lines; ``succeeded`` = ``judged`` + ``without_judgment``."""

    total: int
    succeeded: int
    failed: int
    malformed: int
    without_judgment: int
    judged: int
    single: int
    pairwise: int
    inputs: int | None  # lines of the input file, None without one


class MeanCI(_Figure):
    """A mean with its bootstrap CI; ``mean`` and ``ci`` are None when there are no values."""

    mean: float | None
    ci: CI | None
    n: int


class RateCI(_Figure):
    """The share of wins (or agreements) among 0/1 outcomes, with its bootstrap CI."""

    rate: float
    ci: CI | None
    n: int


class Mean(_Figure):
    mean: float
    n: int


class ScoreCount(_Figure):
    score: int
    count: int
    share: float | None  # None when no line was scored


class CriterionMean(_Figure):
    name: str
    mean: float | None
    ci: CI | None
    n: int
    not_applicable: int  # N/A scores, left out of the mean


class SingleSection(_Figure):
    n: int
    scored: int
    unscored: int
    score_range: tuple[int, int]  # the widest range of the lines' scales
    distribution: list[ScoreCount]  # one entry per score of the range, ascending
    overall: MeanCI
    criteria: list[CriterionMean]
    expected_score: Mean | None


class Outcomes(_Figure):
    response_1: int
    tie: int
    response_2: int


class PairCriterionMeans(_Figure):
    name: str
    response_1: MeanCI
    response_2: MeanCI


class PairExpectedMeans(_Figure):
    response_1: float
    response_2: float
    n: int


class LeaderboardRow(_Figure):
    model: str
    rating: float  # Elo scale, the mean rating is 1000
    ci: CI
    battles: int
    win_rate: float


class StyleCoefficientRow(_Figure):
    """A style feature's effect: the change in log-odds of winning per standard deviation of the
    normalised difference (a − b) / (a + b) between the two answers; None when it does not vary."""

    feature: str  # length, headers, bold, lists
    coefficient: float | None
    ci: CI | None


class StyleControlled(_Figure):
    """The leaderboard with style held fixed (``evaluation.style_control``), and the style effects."""

    battles: int
    leaderboard: list[LeaderboardRow]  # best first
    style: list[StyleCoefficientRow]


class PairwiseSection(_Figure):
    n: int
    scored: int
    unscored: int
    outcomes: Outcomes
    win_rate: float | None  # response 1's, a tie counting half
    win_rate_ci: CI | None
    criteria: list[PairCriterionMeans]
    expected_score: PairExpectedMeans | None
    leaderboard: list[LeaderboardRow] | None  # best first; None without named competitors
    style_controlled: StyleControlled | None  # None without the answers' texts (the input file)


class JudgeHealth(_Figure):
    parse_failures: int
    parse_failure_rate: float | None
    parsed_by: dict[str, int]
    swap_consistency: RateCI | None = None
    first_shown_wins: RateCI | None = None
    longer_wins: RateCI | None = None
    ensemble_agreement: Mean | None = None


class Method(_Figure):
    bootstrap_rounds: int
    seed: int
    ci_level: float
    ties: str
    leaderboard: str
    style_control: str


class ValueCI(_Figure):
    value: float
    ci: CI


class ReliabilityBin(_Figure):
    """An equal-mass bin of the reliability diagram: mean confidence vs the share the humans agreed."""

    mean_confidence: float
    agreement: float
    count: int


class ConfidenceGroup(_Figure):
    """Labelled lines whose confidence is of one kind: calibrated (a probability that a human agrees,
    from the calibrators named) or the raw signal. Figures never mix the two kinds."""

    calibrated: bool
    calibrations: list[str]  # calibrator ids seen, calibrated groups only
    n: int
    agreement: float  # share of the lines whose verdict matches the human majority
    mean_confidence: float
    ece: ValueCI  # expected calibration error, equal-mass bins, bootstrap CI
    brier: ValueCI
    bins: list[ReliabilityBin]


class ConfidenceQuality(_Figure):
    n: int  # labelled, judged lines with a gold label and a confidence
    groups: list[ConfidenceGroup]  # calibrated first, then raw


class ExactRate(_Figure):
    """Agreement with the human gold on a set of lines, with its Clopper–Pearson interval."""

    n: int
    agreed: int
    rate: float | None
    ci: CI | None


class SelectiveSetting(_Figure):
    agreement_target: float
    delta: float
    threshold: float | None  # None: the labels supported no threshold (every such line abstained)
    lines: int


class SelectiveSection(_Figure):
    """Lines held to an agreement target (their judgment carries ``abstained``)."""

    lines: int
    accepted: int
    abstained: int  # not counted as decided: left out of the single and pairwise sections
    coverage: float | None  # accepted / lines
    settings: list[SelectiveSetting]  # each (target, delta, threshold) seen, most lines first
    handling: str
    accepted_agreement: ExactRate | None  # labelled batches: agreement with the gold, accepted lines
    abstained_agreement: ExactRate | None  # ... and abstained lines
    target: float | None  # the lowest agreement target seen (what the accepted agreement is held to)


class CascadeStageCount(_Figure):
    stage: int  # 1 = the first model asked
    model: str
    ran: int  # lines that reached this stage
    decided: int  # lines whose verdict is this stage's


class CascadeSection(_Figure):
    lines: int  # lines judged by a cascade model
    stages: list[CascadeStageCount]  # in stage order
    undecided: int  # no stage was confident: abstained after the last stage
    mean_calls: float  # stages run per line


TRUST_SECTIONS = ("agreement", "confidence", "selective", "cascade")


class Report(_Figure):
    lines: LineCounts
    failures_by_code: dict[str, int]
    judge_models: dict[str, int]
    single: SingleSection | None
    pairwise: PairwiseSection | None
    health: JudgeHealth
    method: Method
    notes: list[str]
    agreement: Agreement | None = None
    confidence: ConfidenceQuality | None = None
    selective: SelectiveSection | None = None
    cascade: CascadeSection | None = None

    @model_serializer(mode="wrap")
    def _leave_out_absent_trust_sections(self, handler: SerializerFunctionWrapHandler) -> Any:
        data: dict[str, Any] = handler(self)
        for key in TRUST_SECTIONS:
            if data.get(key, 0) is None:
                del data[key]
        return data
