"""Reading a verdict out of the judge model's text: JSON first, then tolerant last-match text parsing.

Text the caller supplied (question, answers, reference) is cut out of the model output before any
text parsing, so a candidate answer that contains "[[5]]" and is merely echoed back by the model
can never become the score. The service adds the rest of the ladder: one repair re-ask, then an
explicit unscored verdict.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Literal

from jurist.judging.prompts import JudgeTask
from jurist.judging.verdict import (
    CriterionScore,
    PairCriterionScore,
    PairwiseVerdict,
    ScoreScale,
    SingleVerdict,
    Verdict,
    Winner,
)
from jurist.protocol.json_types import JSONObject

# strict=False: raw control characters (a newline) inside strings are accepted — llama.cpp's grammar for
# length-capped strings lets small models emit them, and the verdict is still perfectly readable.
_DECODER = json.JSONDecoder(strict=False)
_NA = {"n/a", "na", "null", "none", "not applicable", "不适用", ""}


class _Invalid(Exception):
    pass


def _score(value: Any, scale: ScoreScale, nullable: bool) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in _NA):
        if nullable:
            return None
        raise _Invalid("missing score")
    if isinstance(value, bool):
        raise _Invalid("boolean score")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not scale.contains(value):
        raise _Invalid(f"score {value!r} outside {scale.low}-{scale.high}")
    return value


def _criteria_entries(raw: Any, names: list[str]) -> list[tuple[str, JSONObject]]:
    """Match the model's criteria (an object keyed by name, or a list of named objects) to ours."""
    if isinstance(raw, list):
        raw = {str(e.get("name", "")): e for e in raw if isinstance(e, dict)}
    if not isinstance(raw, dict):
        raise _Invalid("criteria is not an object")
    lowered = {str(k).strip().lower(): v for k, v in raw.items()}
    out = []
    for name in names:
        entry = lowered.get(name.lower())
        out.append((name, entry if isinstance(entry, dict) else {}))
    return out


def _reason(entry: JSONObject) -> str:
    return str(entry.get("reason") or entry.get("explanation") or "").strip()


def verdict_from_json(obj: Any, task: JudgeTask) -> Verdict:
    if not isinstance(obj, dict):
        raise _Invalid("not an object")
    scale, names = task.scale, task.criterion_names
    entries = _criteria_entries(obj.get("criteria", {}), names)
    summary = str(obj.get("summary") or "").strip()
    if task.mode == "single":
        overall = _score(obj.get("overall_score", obj.get("score")), scale, False)
        assert overall is not None
        return SingleVerdict(
            overall,
            [CriterionScore(n, _reason(e), _score(e.get("score"), scale, True)) for n, e in entries],
            summary,
        )
    s1 = _score(obj.get("response_1_score"), scale, True)
    s2 = _score(obj.get("response_2_score"), scale, True)
    winner = _winner(obj.get("winner"), s1, s2)
    criteria = [
        PairCriterionScore(
            n,
            _reason(e),
            _score(e.get("response_1_score"), scale, True),
            _score(e.get("response_2_score"), scale, True),
        )
        for n, e in entries
    ]
    return PairwiseVerdict(winner, s1, s2, criteria, summary)


def _winner(raw: Any, s1: int | None, s2: int | None) -> Winner:
    text = str(raw or "").strip().lower().replace(" ", "_")
    aliases: dict[str, Winner] = {
        "response_1": "response_1", "1": "response_1", "a": "response_1", "response1": "response_1",
        "response_2": "response_2", "2": "response_2", "b": "response_2", "response2": "response_2",
        "tie": "tie", "c": "tie", "draw": "tie", "both": "tie",
    }  # fmt: skip
    if text in aliases:
        return aliases[text]
    if s1 is not None and s2 is not None:
        return "response_1" if s1 > s2 else "response_2" if s2 > s1 else "tie"
    raise _Invalid("no winner")


def _json_candidates(text: str) -> list[tuple[Any, tuple[int, int]]]:
    """The outermost JSON objects embedded in the text with their spans, last first."""
    found: list[tuple[Any, tuple[int, int]]] = []
    for start in reversed([m.start() for m in re.finditer(r"\{", text)]):
        try:
            obj, end = _DECODER.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(obj, dict):
            found = [f for f in found if not (start <= f[1][0] and f[1][1] <= end)]
            found.append((obj, (start, end)))
    return sorted(found, key=lambda f: f[1][0], reverse=True)


def strip_echoes(text: str, supplied: list[str]) -> str:
    """Remove verbatim copies of caller-supplied texts (longest first) from the model output."""
    for chunk in sorted(supplied, key=len, reverse=True):
        if len(chunk) >= 3:
            text = text.replace(chunk, " ")
    return text


_SCORE = r"(\d{1,3}|N/?A)"
_CRIT_SINGLE = re.compile(
    r"^\s*\d+[.、)]\s*([^:：\n]{1,100})[:：]\s*(.*?)\s*\[\[" + _SCORE + r"\]\]\s*$",
    re.MULTILINE | re.IGNORECASE,
)
_CRIT_PAIR = re.compile(
    r"^\s*\d+[.、)]\s*([^:：\n]{1,100})[:：]\s*(.*?)\s*\[\[(?:Response 1 score|回答1评分)[:：]\s*"
    + _SCORE
    + r"\]\]\s*\[\[(?:Response 2 score|回答2评分)[:：]\s*"
    + _SCORE
    + r"\]\]\s*$",
    re.MULTILINE | re.IGNORECASE,
)
_OVERALL_SINGLE = [
    re.compile(r"overall score[^\[\n]{0,80}\[\[\s*(\d{1,3})\s*\]\]", re.IGNORECASE),
    re.compile(r"总体评分[^\[\n]{0,20}\[\[\s*(\d{1,3})\s*\]\]"),
    re.compile(r"\[\[\s*(\d{1,3})\s*\]\]"),
    re.compile(r"\b(?:overall |final )?(?:score|rating)\s*(?:is|:|=)\s*(\d{1,3})\b", re.IGNORECASE),
    re.compile(r"\b(\d{1,3})\s*(?:/|out of)\s*(\d{1,3})\b", re.IGNORECASE),
]
_PAIR_VERDICT = re.compile(
    r"\[\[\s*(Response 1 is better|Response 2 is better|Both responses are tied|"
    r"回答1更好|回答2更好|两个回答打平|A|B|C|A>B|B>A|A=B|A>>B|B>>A)\s*\]\]",
    re.IGNORECASE,
)
_PAIR_SCORES = re.compile(
    r"(?:Response 1|回答1)[^\[\n]{0,40}\[\[\s*(\d{1,3})\s*\]\][^\[\n]{0,80}?"
    r"(?:Response 2|回答2)[^\[\n]{0,40}\[\[\s*(\d{1,3})\s*\]\]",
    re.IGNORECASE,
)
_VERDICT_WORDS: dict[str, Winner] = {
    "response 1 is better": "response_1", "回答1更好": "response_1", "a": "response_1",
    "a>b": "response_1", "a>>b": "response_1",
    "response 2 is better": "response_2", "回答2更好": "response_2", "b": "response_2",
    "b>a": "response_2", "b>>a": "response_2",
    "both responses are tied": "tie", "两个回答打平": "tie", "c": "tie", "a=b": "tie",
}  # fmt: skip


def _text_score(raw: str, scale: ScoreScale) -> int | None:
    return _score(raw, scale, True)


def verdict_from_text(text: str, task: JudgeTask) -> Verdict:
    """Tolerant parsing of PAI-style text verdicts, bound to the last marker."""
    scale, names = task.scale, {n.lower(): n for n in task.criterion_names}
    if task.mode == "single":
        criteria = []
        for m in _CRIT_SINGLE.finditer(text):
            name = names.get(m.group(1).strip().lower())
            if name:
                criteria.append(CriterionScore(name, m.group(2).strip(), _text_score(m.group(3), scale)))
        crit_spans = [m.span() for m in _CRIT_SINGLE.finditer(text)]
        for pattern in _OVERALL_SINGLE:
            for m in reversed(list(pattern.finditer(text))):
                if any(a <= m.start() < b for a, b in crit_spans):
                    continue
                if m.lastindex == 2 and int(m.group(2)) != scale.high:
                    continue
                value = int(m.group(1))
                if scale.contains(value):
                    return SingleVerdict(value, _dedupe(criteria), _summary(text))
        raise _Invalid("no overall score found")
    verdicts = list(_PAIR_VERDICT.finditer(text))
    scores = list(_PAIR_SCORES.finditer(text))
    s1 = s2 = None
    if scores:
        s1 = _text_score(scores[-1].group(1), scale)
        s2 = _text_score(scores[-1].group(2), scale)
    if verdicts:
        winner = _VERDICT_WORDS[verdicts[-1].group(1).lower()]
    else:
        winner = _winner(None, s1, s2)
    pair_criteria = []
    for m in _CRIT_PAIR.finditer(text):
        name = names.get(m.group(1).strip().lower())
        if name:
            pair_criteria.append(
                PairCriterionScore(
                    name,
                    m.group(2).strip(),
                    _text_score(m.group(3), scale),
                    _text_score(m.group(4), scale),
                )
            )
    return PairwiseVerdict(winner, s1, s2, _dedupe(pair_criteria), _summary(text))


def _dedupe(items: list[Any]) -> list[Any]:
    """Keep the last occurrence of each criterion (last-match wins)."""
    seen: JSONObject = {}
    for item in items:
        seen.pop(item.name, None)
        seen[item.name] = item
    return list(seen.values())


def _summary(text: str) -> str:
    m = list(re.finditer(r"(?:In summary,|总之[，,])\s*(.+)", text, re.IGNORECASE | re.DOTALL))
    return m[-1].group(1).strip().strip("*").strip() if m else ""


def scores_only(verdict: Verdict) -> Verdict:
    """The verdict without its reasons and summary (``reasons: "none"``: a judge that wrote some
    anyway — a backend that does not enforce the schema — is held to the scores asked for)."""
    if isinstance(verdict, SingleVerdict):
        single = [dataclasses.replace(c, reason="") for c in verdict.criteria]
        return dataclasses.replace(verdict, criteria=single, summary="")
    pair = [dataclasses.replace(c, reason="") for c in verdict.criteria]
    return dataclasses.replace(verdict, criteria=pair, summary="")


def parse_verdict(text: str, task: JudgeTask) -> tuple[Verdict | None, Literal["json", "text"], str]:
    """One rung of the ladder: (verdict or None, how it was read, why it failed)."""
    verdict, how, problem = _parse(text, task)
    if verdict is not None and task.reasons == "none":
        verdict = scores_only(verdict)
    return verdict, how, problem


def _parse(text: str, task: JudgeTask) -> tuple[Verdict | None, Literal["json", "text"], str]:
    stripped = text.strip()
    problem = "empty output"
    if stripped.startswith("{"):
        try:
            return verdict_from_json(_DECODER.decode(stripped), task), "json", ""
        except (ValueError, _Invalid) as exc:
            problem = f"invalid JSON verdict: {exc}"
    cleaned = strip_echoes(stripped, task.candidate_texts)
    for obj, span in _json_candidates(cleaned):
        try:
            return verdict_from_json(obj, task), "json", ""
        except _Invalid as exc:
            problem = f"invalid JSON verdict: {exc}"
        cleaned = cleaned[: span[0]] + " " + cleaned[span[1] :]  # rejected JSON is not prose
    if cleaned.strip():
        try:
            return verdict_from_text(cleaned, task), "text", ""
        except _Invalid as exc:
            problem = f"no verdict found: {exc}"
    return None, "text", problem
