"""The typed ``judgment``: Jurist's structured verdict, returned next to OpenAI's ``choices`` on every
judged completion, written into batch output lines, and read back by reports.

    Judgment = SingleJudgment | PairwiseJudgment          (discriminated on ``mode``)
    ├── scored, score_range, scene, language, parsed_by, attempts, unscored_reason/_detail
    ├── single:   overall_score, criteria[{name, score, reason}], summary
    ├── pairwise: winner, scores{response_1, response_2}, criteria[{name, scores, reason}], summary
    ├── prompt            the judge prompt (``return_prompt``)
    ├── expected_score    probability-weighted score from token log-probabilities
    ├── swap              pairwise, both orders: consistent, rule, mean_scores, games
    ├── ensemble          several samples: votes, agreement, means (and games without swap)
    ├── confidence        how likely a human agrees with the verdict; ``calibrated`` says whether it is
    │                     a fitted probability (``calibration`` names the calibrator) or the raw signal
    ├── selective         the agreement target asked for, its delta and confidence threshold;
    │   abstained         true when the confidence is below the threshold (the verdict is not decided)
    ├── cascade           the stages a cascade model ran: each stage's model, verdict and confidence
    ├── warnings          what Jurist ignored in the request (an unknown judge-item field, say)
    └── flags             signs that a caller's text tries to steer the judge

Optional blocks are left out of the JSON when absent (never ``null``), so the wire format of a plain
verdict is exactly what earlier versions wrote. Reading is lenient: unknown keys are ignored and
fields added by later versions have defaults, so lines written by earlier versions still read.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

Mode = Literal["single", "pairwise"]
Winner = Literal["response_1", "response_2", "tie"]
ParsedBy = Literal["json", "text", "repair_json", "repair_text", "unscored"]
Order = Literal["as_given", "swapped"]
WINNERS: tuple[Winner, ...] = ("response_1", "response_2", "tie")


class _Value(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Sparse(_Value):
    """Leaves its optional blocks out of the JSON when they are absent (None or empty)."""

    @model_serializer(mode="wrap")
    def _leave_out_absent(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        for key in _LEFT_OUT_WHEN_NONE:
            if key in data and data[key] is None:
                del data[key]
        for key in ("warnings", "flags"):
            if key in data and not data[key]:
                del data[key]
        return data


_LEFT_OUT_WHEN_NONE = (
    "unscored_reason", "unscored_detail", "prompt", "expected_score", "swap", "ensemble", "games",
    "confidence", "calibrated", "raw_confidence", "calibration", "selective", "abstained", "cascade",
    "threshold", "verdict",
)  # fmt: skip


class PromptMessage(_Value):
    role: str
    content: str


class InputFlag(_Value):
    """A sign that a caller's text tries to steer the judge (the item is judged all the same)."""

    code: str  # instructions_to_judge | verdict_marker | fence_lookalike | long_unrelated_text
    message: str
    field: str  # answer, answer1, answer2 or reference


class SingleCriterion(_Value):
    name: str
    score: int | None = None  # None: not applicable (N/A)
    reason: str = ""


class PairScores(_Value):
    response_1: int | None = None
    response_2: int | None = None


class PairCriterion(_Value):
    name: str
    scores: PairScores = PairScores()
    reason: str = ""


class PairExpected(_Value):
    response_1: float
    response_2: float


class PairMeans(_Value):
    response_1: float | None = None
    response_2: float | None = None


class _Core(_Sparse):
    """What every judgment and every game of an ensemble says, in wire order."""

    mode: Mode
    scored: bool = False
    score_range: tuple[int, int] = (1, 5)
    scene: str | None = None
    language: str | None = None
    parsed_by: ParsedBy | None = None
    attempts: int = 1
    unscored_reason: str | None = None
    unscored_detail: str | None = None


class _SingleCore(_Core):
    mode: Literal["single"] = "single"
    overall_score: int | None = None
    criteria: list[SingleCriterion] = []
    summary: str | None = None
    prompt: list[PromptMessage] | None = None
    expected_score: float | None = None


class _PairwiseCore(_Core):
    mode: Literal["pairwise"] = "pairwise"
    winner: Winner | None = None
    scores: PairScores = PairScores()
    criteria: list[PairCriterion] = []
    summary: str | None = None
    prompt: list[PromptMessage] | None = None
    expected_score: PairExpected | None = None


class _GameTag(_Value):
    order: Order = "as_given"
    sample: int = 0  # earlier versions (before ensembles) wrote no sample: it was 0


# The tag's fields come first (pydantic orders inherited fields by reversed MRO).
class SingleGame(_SingleCore, _GameTag):
    """One judge call of an ensemble, as the judge saw it (single mode has no order to undo)."""


class PairwiseGame(_PairwiseCore, _GameTag):
    """One judge call of a swap or ensemble, mapped back to the caller's order."""


class Swap(_Value):
    """Both orders of a pair were judged; when they disagree the verdict is a tie."""

    consistent: bool | None = None  # None: an order had no scored game
    rule: Literal["disagreement_is_tie"] = "disagreement_is_tie"
    mean_scores: PairMeans = PairMeans()
    games: list[PairwiseGame] = []


class _EnsembleCore(_Sparse):
    samples: int
    total_games: int
    scored_games: int


class PairwiseEnsemble(_EnsembleCore):
    votes: dict[Winner, int] = {}
    agreement: float | None = None  # share of scored games that voted for the final winner
    mean_scores: PairMeans = PairMeans()
    games: list[PairwiseGame] | None = None  # here when there is no ``swap`` block to hold them


class SingleEnsemble(_EnsembleCore):
    votes: dict[str, int] = {}  # by overall score, ascending
    agreement: float | None = None  # share of scored games that gave the final score
    mean_score: float | None = None
    games: list[SingleGame] | None = None


class Selective(_Value):
    """A verdict held to an agreement target: accepted when its raw signal reaches ``raw_threshold``,
    chosen on the calibration's labelled items by fixed-sequence testing so that, with probability
    ≥ 1 − delta, humans agree with accepted verdicts at rate ≥ ``agreement_target``. ``threshold`` is
    the same cut on the calibrated scale of ``confidence`` (a flat stretch of an isotonic calibrator can
    give a verdict below the cut the threshold's own confidence)."""

    agreement_target: float
    delta: float
    threshold: float | None = None  # None: the labels support no threshold here (a cascade's last stage)
    raw_threshold: float | None = None


class CascadeStage(_Sparse):
    """One stage of a cascade model: the judge it ran, what it said and how sure it was."""

    model: str
    verdict: str | int | None = None  # the winner (pairwise) or overall score (single); None: unscored
    confidence: float | None = None
    calibrated: bool = False
    raw_confidence: float | None = None  # the raw signal, when ``confidence`` is calibrated
    calibration: str | None = None
    threshold: float | None = None  # escalate below this
    decided: bool = False  # this stage's verdict is the judgment's


class _Trust(_Sparse):
    """What every judgment says about how far to trust it (all left out when absent)."""

    confidence: float | None = None  # P(a human agrees), or the raw signal when not ``calibrated``
    calibrated: bool | None = None
    raw_confidence: float | None = None  # the raw signal, when ``confidence`` is calibrated
    calibration: str | None = None  # the calibrator's id (``cal_…``), when calibrated
    selective: Selective | None = None
    abstained: bool | None = None
    cascade: list[CascadeStage] | None = None


class SingleJudgment(_Trust, _SingleCore):
    """One answer graded: an overall score and a score per criterion."""

    ensemble: SingleEnsemble | None = None
    warnings: list[str] = []
    flags: list[InputFlag] = []  # left out of the JSON when empty


class PairwiseJudgment(_Trust, _PairwiseCore):
    """Two answers compared: a winner or a tie, and both answers' scores per criterion."""

    swap: Swap | None = None
    ensemble: PairwiseEnsemble | None = None
    warnings: list[str] = []
    flags: list[InputFlag] = []  # left out of the JSON when empty


Judgment = Annotated[SingleJudgment | PairwiseJudgment, Field(discriminator="mode")]
