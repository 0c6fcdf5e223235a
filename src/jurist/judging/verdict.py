"""Verdicts: what one judge call decided, and the JSON schema the judge model must answer in. The
``judgment`` returned to clients is built from verdicts by ``judging.judgment``.

A criterion score of ``None`` means *not applicable* (rendered ``N/A``), never a made-up number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from jurist.protocol.items import Reasons
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.protocol.judgment import WINNERS, ParsedBy, Winner

__all__ = ["WINNERS", "ParsedBy", "Reasons", "Winner"]  # re-exported: the verdict's vocabulary

SHORT_REASON_CHARS = 80  # ``reasons: "short"``: the cap on each reason, where the backend enforces it


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


def _score_schema(scale: ScoreScale, nullable: bool) -> JSONObject:
    """An integer on the scale (or null for N/A). ``anyOf`` + typed ``enum`` is the form that
    llama.cpp's grammar converter, xgrammar and OpenAI's strict mode all enforce."""
    values: list[JsonValue] = list(scale.values)
    score: JSONObject = {"type": "integer", "enum": values}
    return {"anyOf": [score, {"type": "null"}]} if nullable else score


def _text_schema(max_chars: int | None) -> JSONObject:
    schema: JSONObject = {"type": "string"}
    if max_chars is not None:
        schema["maxLength"] = max_chars
    return schema


def _object(properties: JSONObject) -> JSONObject:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _reason_cap(reasons: Reasons, max_chars: int | None) -> int | None:
    if reasons == "short" and max_chars is not None:
        return min(max_chars, SHORT_REASON_CHARS)
    return max_chars


def verdict_schema(
    mode: Literal["single", "pairwise"],
    criteria: list[str],
    scale: ScoreScale,
    reason_max_chars: int | None = None,
    reasons: Reasons = "full",
) -> JSONObject:
    """The JSON schema of the judge model's answer. Reasons come before scores, the overall verdict
    comes last; criteria are fixed keys in order, so a grammar can force every one of them.
    ``reasons: "none"`` leaves out every reason and the summary: scores only."""
    cap = _reason_cap(reasons, reason_max_chars)
    said: JSONObject = {} if reasons == "none" else {"reason": _text_schema(cap)}
    summary: JSONObject = (
        {} if reasons == "none" else {"summary": _text_schema(None if cap is None else cap * 2)}
    )
    if mode == "single":
        per = _object({**said, "score": _score_schema(scale, True)})
        return _object(
            {
                "criteria": _object({name: per for name in criteria}),
                **summary,
                "overall_score": _score_schema(scale, False),
            }
        )
    per = _object(
        {
            **said,
            "response_1_score": _score_schema(scale, True),
            "response_2_score": _score_schema(scale, True),
        }
    )
    return _object(
        {
            "criteria": _object({name: per for name in criteria}),
            **summary,
            "response_1_score": _score_schema(scale, False),
            "response_2_score": _score_schema(scale, False),
            "winner": {"type": "string", "enum": list(WINNERS)},
        }
    )
