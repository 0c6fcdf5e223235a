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
    └── notes             what the report could not compute, and why

The JSON form is ``model_dump(mode="json")``: every field always present (``null`` when there is no
figure), in the order above; a CI is ``[low, high]``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

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


class Report(_Figure):
    lines: LineCounts
    failures_by_code: dict[str, int]
    judge_models: dict[str, int]
    single: SingleSection | None
    pairwise: PairwiseSection | None
    health: JudgeHealth
    method: Method
    notes: list[str]
