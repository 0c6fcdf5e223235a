"""Verdicts: what a judgment decided, the JSON schema the judge model must answer in, and the
``judgment`` object returned to clients.

A criterion score of ``None`` means *not applicable* (rendered ``N/A``), never a made-up number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Winner = Literal["response_1", "response_2", "tie"]
ParsedBy = Literal["json", "text", "repair_json", "repair_text", "unscored"]
WINNERS: tuple[Winner, ...] = ("response_1", "response_2", "tie")


@dataclass(frozen=True)
class CriterionScore:
    name: str
    reason: str
    score: int | None


@dataclass(frozen=True)
class PairCriterionScore:
    name: str
    reason: str
    score1: int | None
    score2: int | None


@dataclass(frozen=True)
class SingleVerdict:
    overall: int
    criteria: list[CriterionScore]
    summary: str


@dataclass(frozen=True)
class PairwiseVerdict:
    winner: Winner
    score1: int | None
    score2: int | None
    criteria: list[PairCriterionScore]
    summary: str


@dataclass(frozen=True)
class Unscored:
    """No verdict could be read from the judge model: never replaced by a default score."""

    reason: str
    detail: str = ""


Verdict = SingleVerdict | PairwiseVerdict


@dataclass(frozen=True)
class ScoreScale:
    low: int = 1
    high: int = 5

    def contains(self, value: int) -> bool:
        return self.low <= value <= self.high

    @property
    def values(self) -> list[int]:
        return list(range(self.low, self.high + 1))

    @property
    def strength_threshold(self) -> float:
        """Scores at or above this count as strengths (4 and 5 on a 1–5 scale)."""
        return self.low + 0.75 * (self.high - self.low)


def _score_schema(scale: ScoreScale, nullable: bool) -> dict[str, Any]:
    """An integer on the scale (or null for N/A). ``anyOf`` + typed ``enum`` is the form that
    llama.cpp's grammar converter, xgrammar and OpenAI's strict mode all enforce."""
    score = {"type": "integer", "enum": scale.values}
    return {"anyOf": [score, {"type": "null"}]} if nullable else score


def _text_schema(max_chars: int | None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if max_chars is not None:
        schema["maxLength"] = max_chars
    return schema


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def verdict_schema(
    mode: Literal["single", "pairwise"],
    criteria: list[str],
    scale: ScoreScale,
    reason_max_chars: int | None = None,
) -> dict[str, Any]:
    """The JSON schema of the judge model's answer. Reasons come before scores, the overall verdict
    comes last; criteria are fixed keys in order, so a grammar can force every one of them."""
    reason = _text_schema(reason_max_chars)
    summary = _text_schema(None if reason_max_chars is None else reason_max_chars * 2)
    if mode == "single":
        per = _object({"reason": reason, "score": _score_schema(scale, True)})
        return _object(
            {
                "criteria": _object({name: per for name in criteria}),
                "summary": summary,
                "overall_score": _score_schema(scale, False),
            }
        )
    per = _object(
        {
            "reason": reason,
            "response_1_score": _score_schema(scale, True),
            "response_2_score": _score_schema(scale, True),
        }
    )
    return _object(
        {
            "criteria": _object({name: per for name in criteria}),
            "summary": summary,
            "response_1_score": _score_schema(scale, False),
            "response_2_score": _score_schema(scale, False),
            "winner": {"type": "string", "enum": list(WINNERS)},
        }
    )


@dataclass
class JudgmentInfo:
    """Context carried next to a verdict into the ``judgment`` object."""

    mode: Literal["single", "pairwise"]
    scale: ScoreScale
    scene: str
    language: str
    parsed_by: ParsedBy
    attempts: int = 1
    prompt: list[dict[str, str]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def judgment_object(verdict: Verdict | Unscored, info: JudgmentInfo) -> dict[str, Any]:
    """The structured verdict clients read as ``completion.judgment``."""
    out: dict[str, Any] = {
        "mode": info.mode,
        "scored": not isinstance(verdict, Unscored),
        "score_range": [info.scale.low, info.scale.high],
        "scene": info.scene,
        "language": info.language,
        "parsed_by": info.parsed_by,
        "attempts": info.attempts,
    }
    if isinstance(verdict, Unscored):
        out.update(unscored_reason=verdict.reason, unscored_detail=verdict.detail)
        if info.mode == "single":
            out.update(overall_score=None, criteria=[])
        else:
            out.update(winner=None, scores={"response_1": None, "response_2": None}, criteria=[])
        out["summary"] = None
    elif isinstance(verdict, SingleVerdict):
        out.update(
            overall_score=verdict.overall,
            criteria=[{"name": c.name, "score": c.score, "reason": c.reason} for c in verdict.criteria],
            summary=verdict.summary,
        )
    else:
        out.update(
            winner=verdict.winner,
            scores={"response_1": verdict.score1, "response_2": verdict.score2},
            criteria=[
                {
                    "name": c.name,
                    "scores": {"response_1": c.score1, "response_2": c.score2},
                    "reason": c.reason,
                }
                for c in verdict.criteria
            ],
            summary=verdict.summary,
        )
    if info.prompt is not None:
        out["prompt"] = info.prompt
    out.update(info.extra)
    return out
