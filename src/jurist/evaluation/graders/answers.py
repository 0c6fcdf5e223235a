"""Reading a model grader's answer (``score_model``, ``label_model``) as Jurist reads a judge's verdict:
a ladder of ever looser readings, each named in ``parsed_by`` so a caller can see how much was guessed.

1. ``json``: the whole answer is the JSON object asked for (structured output);
2. ``embedded_json``: the last JSON object inside the text that has the field (a model that wrapped its
   object in prose or a code fence);
3. ``text``: a ``score_model`` answer's number after ``result`` (``"result": 0.7``, ``Result = 3``), or,
   failing that, the text's only number; a ``label_model`` answer naming exactly one of its labels as a
   word.

Nothing found: None (the grader scores the range's low end, or no label, and says the answer held none)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Literal

ParsedBy = Literal["json", "embedded_json", "text"]
_DECODER = json.JSONDecoder()
_RESULT = re.compile(r"result[\"']?\s*[:=]\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _objects(text: str) -> list[dict[str, object]]:
    """The JSON objects embedded in ``text``, the last first."""
    found: list[dict[str, object]] = []
    for match in reversed(list(re.finditer(r"\{", text))):
        try:
            obj, _ = _DECODER.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(obj, dict):
            found.append(obj)
    return found


def _field(text: str, name: str) -> tuple[object, ParsedBy] | None:
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict) and name in whole:
        return whole[name], "json"
    for obj in _objects(text):
        if name in obj:
            return obj[name], "embedded_json"
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def score_answer(text: str) -> tuple[float, ParsedBy] | None:
    """A ``score_model`` answer's ``result`` and how it was read."""
    found = _field(text, "result")
    if found is not None and (number := _number(found[0])) is not None:
        return number, found[1]
    stated = _RESULT.search(text)
    if stated is not None and (number := _number(stated.group(1))) is not None:
        return number, "text"
    numbers = _NUMBER.findall(text)
    if len(numbers) == 1 and (number := _number(numbers[0])) is not None:
        return number, "text"
    return None


def label_answer(text: str, labels: Sequence[str]) -> tuple[str, ParsedBy] | None:
    """A ``label_model`` answer's label (one of ``labels``) and how it was read."""
    found = _field(text, "label")
    if found is not None and isinstance(found[0], str) and found[0] in labels:
        return found[0], found[1]
    named = [label for label in labels if re.search(rf"(?<!\w){re.escape(label)}(?!\w)", text)]
    if len(named) == 1:
        return named[0], "text"
    return None


RUNG: dict[str, float] = {"json": 1.0, "embedded_json": 0.9, "text": 0.8}  # as the judge's parse rungs
_VALUE_AT = {
    "result": re.compile(r"\"result\"\s*:\s*\"?"),
    "label": re.compile(r"\"label\"\s*:\s*\""),
}


def _value_start(text: str, field: str, value: str) -> int | None:
    """Where in ``text`` the answer's value begins: after the last ``"field":``, else the value itself."""
    found = list(_VALUE_AT[field].finditer(text))
    if found:
        return found[-1].end()
    at = text.rfind(value)
    return at if at >= 0 else None


def _token_probability(logprobs: object, at: int) -> float | None:
    """The probability of the token covering character ``at`` of the answer (OpenAI's logprobs shape)."""
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list):
        return None
    offset = 0
    for entry in content:
        if not isinstance(entry, dict) or not isinstance(entry.get("token"), str):
            return None
        end = offset + len(entry["token"])
        if offset <= at < end:
            logprob = entry.get("logprob")
            return math.exp(logprob) if isinstance(logprob, int | float) and logprob <= 0 else None
        offset = end
    return None


def answer_confidence(text: str, field: str, value: str, parsed_by: ParsedBy, logprobs: object) -> float:
    """A model grader's raw confidence signal, as a judgment's (``evaluation.confidence``): the parse rung
    times the probability the model gave the first token of its value, or times 0.5 without token
    probabilities. Not a probability (``calibrated: false``)."""
    at = _value_start(text, field, value)
    probability = None if at is None else _token_probability(logprobs, at)
    return round(RUNG[parsed_by] * (0.5 if probability is None else probability), 4)
