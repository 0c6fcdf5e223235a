"""From the games that were played to the one typed ``judgment`` (``protocol.judgment``).

A plain call is a one-game ensemble: the same function builds the judgment of one game, of both
orders of a pair (``swap``) and of N samples per order (``pai-judge-plus``); the aggregation rules are
``judging.ensemble``'s. Games arrive in the order they were planned; a swapped game is mapped back to
the caller's order here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NotRequired, TypedDict

from jurist.judging.ensemble import aggregate_pairwise, aggregate_single, mean
from jurist.judging.reconcile import unswap
from jurist.judging.verdict import PairwiseVerdict, Reasons, ScoreScale, SingleVerdict, Unscored, Verdict
from jurist.protocol.judgment import (
    InputFlag,
    Mode,
    Order,
    PairCriterion,
    PairExpected,
    PairMeans,
    PairScores,
    PairwiseEnsemble,
    PairwiseGame,
    PairwiseJudgment,
    ParsedBy,
    PromptMessage,
    SingleCriterion,
    SingleEnsemble,
    SingleGame,
    SingleJudgment,
    Swap,
    Winner,
)

_FLIPPED_KEYS = {"response_1_score": "response_2_score", "response_2_score": "response_1_score"}


@dataclass(frozen=True)
class Game:
    """One judge call: its verdict as the judge gave it (in the order it was shown), and how it was read."""

    order: Order
    sample: int
    verdict: Verdict | Unscored
    parsed_by: ParsedBy
    attempts: int
    expected: dict[str, float] | None = None  # by verdict key (``judging.expected``), judge's order
    prompt: list[dict[str, str]] | None = None

    def in_callers_order(self) -> Game:
        if self.order == "as_given":
            return self
        verdict = unswap(self.verdict) if isinstance(self.verdict, PairwiseVerdict) else self.verdict
        expected = None
        if self.expected is not None:
            expected = {_FLIPPED_KEYS.get(k, k): v for k, v in self.expected.items()}
        return Game(self.order, self.sample, verdict, self.parsed_by, self.attempts, expected, self.prompt)


@dataclass(frozen=True)
class Context:
    """What the item says about every game: its mode, scale, scene and language, the warnings
    about the request (fields Jurist ignored), and how much the judge wrote (``reasons``: with
    ``"none"`` the judgment has no summary)."""

    mode: Mode
    scale: ScoreScale
    scene: str
    language: str
    warnings: tuple[str, ...] = ()
    flags: tuple[InputFlag, ...] = ()  # suspect-input flags (judging.hardening)
    reasons: Reasons = "full"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict | Unscored  # the final verdict, in the caller's order (PAI's text renders it)
    judgment: SingleJudgment | PairwiseJudgment


class _Common(TypedDict):
    scored: bool
    score_range: tuple[int, int]
    scene: str
    language: str
    parsed_by: ParsedBy
    attempts: int
    prompt: list[PromptMessage] | None
    unscored_reason: NotRequired[str]
    unscored_detail: NotRequired[str]


class _SingleFields(TypedDict):
    overall_score: int | None
    criteria: list[SingleCriterion]
    summary: str | None
    expected_score: float | None


class _PairFields(TypedDict):
    winner: Winner | None
    scores: PairScores
    criteria: list[PairCriterion]
    summary: str | None
    expected_score: PairExpected | None


def _common(
    context: Context,
    verdict: Verdict | Unscored,
    parsed_by: ParsedBy,
    attempts: int,
    prompt: list[dict[str, str]] | None,
) -> _Common:
    fields: _Common = {
        "scored": not isinstance(verdict, Unscored),
        "score_range": (context.scale.low, context.scale.high),
        "scene": context.scene,
        "language": context.language,
        "parsed_by": parsed_by,
        "attempts": attempts,
        "prompt": None if prompt is None else [PromptMessage(**m) for m in prompt],
    }
    if isinstance(verdict, Unscored):
        fields["unscored_reason"] = verdict.reason
        fields["unscored_detail"] = verdict.detail
    return fields


def _summary(verdict: Verdict, reasons: Reasons) -> str | None:
    return None if reasons == "none" else verdict.summary


def _single(
    verdict: SingleVerdict | Unscored, expected: dict[str, float] | None, reasons: Reasons
) -> _SingleFields:
    if isinstance(verdict, Unscored):
        return {"overall_score": None, "criteria": [], "summary": None, "expected_score": None}
    return {
        "overall_score": verdict.overall,
        "criteria": [SingleCriterion(name=c.name, score=c.score, reason=c.reason) for c in verdict.criteria],
        "summary": _summary(verdict, reasons),
        "expected_score": None if expected is None else round(expected["overall_score"], 4),
    }


def _pairwise(
    verdict: PairwiseVerdict | Unscored, expected: dict[str, float] | None, reasons: Reasons
) -> _PairFields:
    if isinstance(verdict, Unscored):
        return {
            "winner": None,
            "scores": PairScores(),
            "criteria": [],
            "summary": None,
            "expected_score": None,
        }
    return {
        "winner": verdict.winner,
        "scores": PairScores(response_1=verdict.score1, response_2=verdict.score2),
        "criteria": [
            PairCriterion(
                name=c.name, scores=PairScores(response_1=c.score1, response_2=c.score2), reason=c.reason
            )
            for c in verdict.criteria
        ],
        "summary": _summary(verdict, reasons),
        "expected_score": None
        if expected is None
        else PairExpected(
            response_1=round(expected["response_1_score"], 4),
            response_2=round(expected["response_2_score"], 4),
        ),
    }


def _mean_expected(games: Sequence[Game]) -> dict[str, float] | None:
    known = [g.expected for g in games if g.expected is not None]
    if not known:
        return None
    means = {key: mean([e[key] for e in known]) for key in known[0]}
    return {k: v for k, v in means.items() if v is not None} or None


def _pair_game(context: Context, game: Game) -> PairwiseGame:
    assert not isinstance(game.verdict, SingleVerdict)
    common = _common(context, game.verdict, game.parsed_by, game.attempts, game.prompt)
    return PairwiseGame(
        order=game.order,
        sample=game.sample,
        **common,
        **_pairwise(game.verdict, game.expected, context.reasons),
    )


def _single_game(context: Context, game: Game) -> SingleGame:
    assert not isinstance(game.verdict, PairwiseVerdict)
    common = _common(context, game.verdict, game.parsed_by, game.attempts, game.prompt)
    return SingleGame(
        order=game.order,
        sample=game.sample,
        **common,
        **_single(game.verdict, game.expected, context.reasons),
    )


def decide(context: Context, played: Sequence[Game]) -> Decision:
    """The judgment of the games played for one item (at least one), in the order they were planned."""
    games = [g.in_callers_order() for g in played]
    first = games[0]
    swapped = any(g.order == "swapped" for g in games)
    samples = 1 + max(g.sample for g in games)
    attempts = sum(g.attempts for g in games)
    scored = [g for g in games if not isinstance(g.verdict, Unscored)]
    if context.mode == "pairwise":
        pair = aggregate_pairwise(
            [g.verdict for g in games if g.order == "as_given" and not isinstance(g.verdict, SingleVerdict)],
            [g.verdict for g in games if g.order == "swapped" and not isinstance(g.verdict, SingleVerdict)],
        )
        verdict: Verdict | Unscored = pair.verdict
        expected = None if isinstance(verdict, Unscored) else _mean_expected(games)
        parsed_by: ParsedBy = "unscored" if isinstance(verdict, Unscored) else first.parsed_by
        pair_games = [_pair_game(context, g) for g in games] if len(games) > 1 else []
        means = PairMeans(**pair.mean_scores)
        judgment: SingleJudgment | PairwiseJudgment = PairwiseJudgment(
            **_common(context, verdict, parsed_by, attempts, first.prompt),
            **_pairwise(pair.verdict, expected, context.reasons),
            swap=Swap(consistent=pair.consistent, mean_scores=means, games=pair_games) if swapped else None,
            ensemble=PairwiseEnsemble(
                samples=samples,
                total_games=len(games),
                scored_games=len(scored),
                votes=pair.votes,
                agreement=pair.agreement,
                mean_scores=means,
                games=None if swapped else pair_games,
            )
            if samples > 1
            else None,
            warnings=list(context.warnings),
            flags=list(context.flags),
        )
        return Decision(verdict, judgment)
    single = aggregate_single([g.verdict for g in games if not isinstance(g.verdict, PairwiseVerdict)])
    verdict = single.verdict
    expected = None if isinstance(verdict, Unscored) else _mean_expected(games)
    parsed_by = "unscored" if isinstance(verdict, Unscored) else first.parsed_by
    judgment = SingleJudgment(
        **_common(context, verdict, parsed_by, attempts, first.prompt),
        **_single(single.verdict, expected, context.reasons),
        ensemble=SingleEnsemble(
            samples=samples,
            total_games=len(games),
            scored_games=len(scored),
            votes={str(score): n for score, n in single.votes.items()},
            agreement=single.agreement,
            mean_score=single.mean_score,
            games=[_single_game(context, g) for g in games],
        )
        if samples > 1
        else None,
        warnings=list(context.warnings),
        flags=list(context.flags),
    )
    return Decision(verdict, judgment)
