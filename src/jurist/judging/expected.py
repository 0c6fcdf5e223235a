"""Probability-weighted scores (G-Eval's expected score) from token log-probabilities.

The judge model's JSON verdict names its score in one token (``"overall_score": 4``). Where the
backend returned log-probabilities in OpenAI's shape (``{"content": [{"token", "logprob",
"top_logprobs": [{"token", "logprob"}]}]}``), the alternatives at that token that read as a score on
the scale are renormalised into a distribution, and its mean is the expected score — reported next
to the integer score, never instead of it.

Unknown (``None``) when the backend gave no log-probabilities, when the tokens do not spell the text,
when no alternative is a score on the scale, or when the scale has two-digit values (``10`` may be two
tokens, so one token's distribution does not describe the score).
"""

from __future__ import annotations

import math
import re

from jurist.judging.verdict import ScoreScale
from jurist.protocol.json_types import JSONObject

_SCORE_TOKEN = re.compile(r"\s*(\d+)\s*[,}\]]?\s*")
_KEYS = {"single": ("overall_score",), "pairwise": ("response_1_score", "response_2_score")}


def _tokens(logprobs: JSONObject | None) -> list[JSONObject] | None:
    content = (logprobs or {}).get("content")
    if not isinstance(content, list) or not content:
        return None
    tokens = [t for t in content if isinstance(t, dict) and isinstance(t.get("token"), str)]
    return tokens if len(tokens) == len(content) else None


def _token_bytes(token: JSONObject) -> bytes:
    raw = token.get("bytes")
    if isinstance(raw, list):
        values = [b for b in raw if isinstance(b, int) and 0 <= b < 256]
        if len(values) == len(raw):
            return bytes(values)
    return str(token["token"]).encode("utf-8")


def _token_at(tokens: list[JSONObject], offset: int) -> JSONObject | None:
    """The token covering byte ``offset`` of the text."""
    position = 0
    for token in tokens:
        end = position + len(_token_bytes(token))
        if position <= offset < end:
            return token
        position = end
    return None


def distribution(token: JSONObject, scale: ScoreScale) -> dict[int, float] | None:
    """P(score) at one token: its alternatives (and the token itself) that are scores on the scale,
    renormalised. None when none is."""
    seen: dict[str, float] = {}
    alternatives = token.get("top_logprobs")
    for alt in [token, *(alternatives if isinstance(alternatives, list) else [])]:
        if not isinstance(alt, dict):
            continue
        text, logprob = alt.get("token"), alt.get("logprob")
        if isinstance(text, str) and isinstance(logprob, (int, float)) and text not in seen:
            seen[text] = float(logprob)
    mass: dict[int, float] = {}
    for text, logprob in seen.items():
        match = _SCORE_TOKEN.fullmatch(text)
        if match is None or not math.isfinite(logprob):
            continue
        value = int(match.group(1))
        if scale.contains(value):
            mass[value] = mass.get(value, 0.0) + math.exp(logprob)
    total = sum(mass.values())
    if total <= 0:
        return None
    return {value: p / total for value, p in sorted(mass.items())}


def expected_scores(
    text: str, logprobs: JSONObject | None, mode: str, scale: ScoreScale
) -> dict[str, float] | None:
    """``{key: expected score}`` for the verdict's overall score key(s) (``overall_score``, or
    ``response_1_score`` and ``response_2_score``), or None when it cannot be known."""
    tokens = _tokens(logprobs)
    if tokens is None or scale.high > 9 or scale.low < 0:
        return None
    encoded = text.encode("utf-8")
    if b"".join(_token_bytes(t) for t in tokens) != encoded:
        return None  # the tokens do not spell the verdict: offsets would be wrong
    out: dict[str, float] = {}
    for key in _KEYS[mode]:
        matches = list(re.finditer(rb'"' + key.encode() + rb'"\s*:\s*(?=\d)', encoded))
        if not matches:
            return None
        token = _token_at(tokens, matches[-1].end())  # the top-level key comes last in the schema
        probs = None if token is None else distribution(token, scale)
        if probs is None:
            return None
        out[key] = sum(value * p for value, p in probs.items())
    return out
