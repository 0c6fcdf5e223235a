"""Reading batch lines for reports.

Output lines: the ``judgment`` is read with the model the service writes (``protocol.judgment``), so
lines written by earlier versions read too (unknown keys are ignored, later fields have defaults); a
judgment that does not fit the model (wrong types) is unreadable, with the reason, never an error.
Only the few numbers a report needs are kept per line (``SingleLine``, ``PairLine``).

Input lines are the caller's request bodies, arbitrary user input: they are read leniently (anything
missing or malformed reads as None) for who wrote each answer, how long each answer is and how much
markdown it carries (``style_control.answer_style``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import TypeAdapter, ValidationError

from jurist.evaluation.style_control import AnswerStyle, answer_style
from jurist.protocol.items import message_items
from jurist.protocol.judgment import Judgment, Order, PairwiseJudgment, SingleJudgment, Winner

FIRST_SHOWN: dict[Order, Winner] = {"as_given": "response_1", "swapped": "response_2"}
_JUDGMENT: TypeAdapter[SingleJudgment | PairwiseJudgment] = TypeAdapter(Judgment)


@dataclass(frozen=True)
class Competitors:
    """What an input line says about its pair: who wrote each answer, how long each answer is, and its
    style features (length and markdown, for the style-controlled leaderboard)."""

    model_a: str | None
    model_b: str | None
    length_1: int | None
    length_2: int | None
    style_1: AnswerStyle | None = None
    style_2: AnswerStyle | None = None


@dataclass(frozen=True)
class SingleLine:
    scored: bool
    overall: float | None
    low: int
    high: int
    criteria: list[tuple[str, float | None]]
    expected: float | None


@dataclass(frozen=True)
class PairLine:
    custom_id: str | None
    scored: bool
    winner: Winner | None
    criteria: list[tuple[str, float | None, float | None]]
    consistent: bool | None
    games: list[tuple[Order, Winner]]  # (order, winner) of every scored game, in the caller's order
    expected: tuple[float, float] | None


def read_judgment(data: object) -> SingleJudgment | PairwiseJudgment | str:
    """The judgment, or why it cannot be read: where the first problem is, and what it is."""
    try:
        return _JUDGMENT.validate_python(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        return f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"


def _float(value: int | float | None) -> float | None:
    return None if value is None else float(value)


def single_line(judgment: SingleJudgment) -> SingleLine:
    low, high = judgment.score_range
    return SingleLine(
        judgment.scored,
        _float(judgment.overall_score) if judgment.scored else None,
        low,
        high,
        [(c.name, _float(c.score)) for c in judgment.criteria],
        judgment.expected_score,
    )


def pair_line(judgment: PairwiseJudgment, custom_id: str | None) -> PairLine:
    winner = judgment.winner if judgment.scored else None
    games: list[tuple[Order, Winner]] = []
    if judgment.swap is not None:
        games = [(g.order, g.winner) for g in judgment.swap.games if g.scored and g.winner is not None]
    elif winner is not None:
        games = [("as_given", winner)]
    expected = judgment.expected_score
    return PairLine(
        custom_id,
        judgment.scored,
        winner,
        [(c.name, _float(c.scores.response_1), _float(c.scores.response_2)) for c in judgment.criteria],
        judgment.swap.consistent if judgment.swap is not None else None,
        games,
        (expected.response_1, expected.response_2) if expected is not None else None,
    )


def _utf8_length(value: object) -> int | None:
    return len(value.encode()) if isinstance(value, str) else None


def judge_item(body: Mapping[str, object]) -> Mapping[str, object] | None:
    """The fields of the request's judge item in any of its three forms, found as the request parser
    finds them: the top-level ``judge`` field, or the first item in the messages. None without one."""
    top = body.get("judge")
    if isinstance(top, dict):
        return top
    return next(
        (site.fields for site in message_items(body.get("messages")) if site.fields is not None), None
    )


def competitors(line: Mapping[str, object]) -> Competitors:
    """Names from the line's ``metadata`` (or the body's), lengths from the pairwise item's answers."""
    raw_body = line.get("body")
    body: Mapping[str, object] = raw_body if isinstance(raw_body, dict) else {}
    metadata = line.get("metadata")
    if not isinstance(metadata, dict):
        metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    item = judge_item(body) or {}
    names = [metadata.get(k) for k in ("model_a", "model_b")]
    a, b = (n if isinstance(n, str) and n else None for n in names)
    one, two = item.get("answer1"), item.get("answer2")
    return Competitors(
        a,
        b,
        _utf8_length(one),
        _utf8_length(two),
        answer_style(one) if isinstance(one, str) else None,
        answer_style(two) if isinstance(two, str) else None,
    )


def failure_code(line: object) -> str:
    if isinstance(line, dict):
        error = line.get("error")
        if isinstance(error, dict) and error.get("code"):
            return str(error["code"])
        response = line.get("response")
        if isinstance(response, dict):
            body = response.get("body")
            inner = body.get("error") if isinstance(body, dict) else None
            if isinstance(inner, dict) and inner.get("code"):
                return str(inner["code"])
            return f"http_{response.get('status_code')}"
    return "unknown"
