"""Reading batch lines for reports: the few numbers a report needs from each judgment (single or
pairwise, with its swap games), and from each input line (who wrote each answer, and how long it is).
Lenient: anything missing or malformed reads as None, never as an error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FIRST_SHOWN = {"as_given": "response_1", "swapped": "response_2"}


@dataclass(frozen=True)
class Competitors:
    """What an input line says about its pair: who wrote each answer, and how long each answer is."""

    model_a: str | None
    model_b: str | None
    length_1: int | None
    length_2: int | None


@dataclass
class SingleLine:
    scored: bool
    overall: float | None
    low: int
    high: int
    criteria: list[tuple[str, float | None]]
    expected: float | None


@dataclass
class PairLine:
    custom_id: str | None
    scored: bool
    winner: str | None
    criteria: list[tuple[str, float | None, float | None]]
    consistent: bool | None
    games: list[tuple[str, str]]  # (order, winner) of every scored game, in the caller's order
    expected: tuple[float, float] | None


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def utf8_length(value: Any) -> int | None:
    return len(value.encode()) if isinstance(value, str) else None


def judge_item(body: dict[str, Any]) -> dict[str, Any] | None:
    """The ``json`` of the first content part that has a ``mode`` (as the chat service finds it)."""
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("mode") is not None:
                item = part.get("json")
                return item if isinstance(item, dict) else None
    return None


def competitors(line: dict[str, Any]) -> Competitors:
    """Names from the line's ``metadata`` (or the body's), lengths from the pairwise item's answers."""
    raw_body = line.get("body")
    body: dict[str, Any] = raw_body if isinstance(raw_body, dict) else {}
    metadata = line.get("metadata")
    if not isinstance(metadata, dict):
        metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    item = judge_item(body) or {}
    names = [metadata.get(k) for k in ("model_a", "model_b")]
    a, b = (n if isinstance(n, str) and n else None for n in names)
    return Competitors(a, b, utf8_length(item.get("answer1")), utf8_length(item.get("answer2")))


def failure_code(line: Any) -> str:
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


def single_line(judgment: dict[str, Any]) -> SingleLine:
    low, high = (judgment.get("score_range") or [1, 5])[:2]
    criteria = [
        (str(c.get("name")), number(c.get("score")))
        for c in judgment.get("criteria") or []
        if isinstance(c, dict)
    ]
    scored = judgment.get("scored") is True
    return SingleLine(
        scored,
        number(judgment.get("overall_score")) if scored else None,
        int(low),
        int(high),
        criteria,
        number(judgment.get("expected_score")),
    )


def pair_line(judgment: dict[str, Any], custom_id: str | None) -> PairLine:
    scored = judgment.get("scored") is True
    winner = judgment.get("winner") if scored else None
    criteria = []
    for c in judgment.get("criteria") or []:
        scores = c.get("scores") if isinstance(c, dict) else None
        if isinstance(scores, dict):
            criteria.append(
                (str(c.get("name")), number(scores.get("response_1")), number(scores.get("response_2")))
            )
    swap = judgment.get("swap")
    consistent: bool | None = None
    games: list[tuple[str, str]] = []
    if isinstance(swap, dict) and isinstance(swap.get("games"), list):
        consistent = swap.get("consistent") if isinstance(swap.get("consistent"), bool) else None
        for game in swap["games"]:
            if isinstance(game, dict) and game.get("scored") is True and game.get("order") in FIRST_SHOWN:
                games.append((str(game["order"]), str(game.get("winner"))))
    elif scored and isinstance(winner, str):
        games.append(("as_given", winner))
    expected = judgment.get("expected_score")
    pair_expected = None
    if isinstance(expected, dict):
        e1, e2 = number(expected.get("response_1")), number(expected.get("response_2"))
        pair_expected = (e1, e2) if e1 is not None and e2 is not None else None
    return PairLine(
        custom_id,
        scored,
        winner if isinstance(winner, str) else None,
        criteria,
        consistent,
        games,
        pair_expected,
    )
