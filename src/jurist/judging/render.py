"""Canonical PAI text rendering of a verdict, in the question's language.

The English forms follow PAI's published responses exactly:
single   "I think the overall score for this response is [[N]]. The reasons are as follows. ..."
pairwise "***\\nI think [[Response 1 is better]]. The overall score for Response 1 is [[a]], ..."
"""

from __future__ import annotations

from jurist.judging.criteria import Language
from jurist.judging.verdict import (
    CriterionScore,
    PairwiseVerdict,
    Reasons,
    ScoreScale,
    SingleVerdict,
    Unscored,
    Verdict,
)

_WORDS: dict[Language, dict[str, str]] = {
    "en": {
        "single_head": "I think the overall score for this response is [[{n}]].",
        "single_reasons": " The reasons are as follows.",
        "single_scores": " The scores per criterion are as follows.",
        "strengths": "Strengths of the current response:",
        "weaknesses": "Weaknesses of the current response:",
        "not_applicable": "Criteria that do not apply to this question:",
        "summary": "In summary, ",
        "pair_head": "I think [[{verdict}]].",
        "pair_scores": " The overall score for Response 1 is [[{a}]], and the overall score for "
        "Response 2 is [[{b}]].",
        "pair_reasons": " The reasons are as follows:",
        "pair_scores_only": " The scores per criterion are as follows:",
        "pair_crit": "[[Response 1 score: {a}]] [[Response 2 score: {b}]]",
        "response_1": "Response 1 is better",
        "response_2": "Response 2 is better",
        "tie": "Both responses are tied",
        "sep": ": ",
        "unscored_single": "I could not reach a verdict on this response: {detail}",
        "unscored_pair": "I could not reach a verdict on these responses: {detail}",
        "abstained": "[[Abstained]]: my confidence {c:.2f} is below the threshold {t:.2f} that holds "
        "agreement with human judges at {target:.0%}, so this verdict is left for review and not "
        "counted as decided.",
        "abstained_no_threshold": "[[Abstained]]: the labelled verdicts so far support no confidence "
        "threshold that holds agreement with human judges at {target:.0%}, so this verdict is left for "
        "review and not counted as decided.",
    },
    "zh": {
        "single_head": "我认为该回答的总体评分为[[{n}]]。",
        "single_reasons": "理由如下。",
        "single_scores": "各评估维度的评分如下。",
        "strengths": "当前回答的优点：",
        "weaknesses": "当前回答的不足：",
        "not_applicable": "不适用于本问题的评估维度：",
        "summary": "总之，",
        "pair_head": "我认为[[{verdict}]]。",
        "pair_scores": "回答1的总体评分为[[{a}]]，回答2的总体评分为[[{b}]]。",
        "pair_reasons": "理由如下：",
        "pair_scores_only": "各评估维度的评分如下：",
        "pair_crit": "[[回答1评分：{a}]] [[回答2评分：{b}]]",
        "response_1": "回答1更好",
        "response_2": "回答2更好",
        "tie": "两个回答打平",
        "sep": "：",
        "unscored_single": "无法对该回答给出评判：{detail}",
        "unscored_pair": "无法对这两个回答给出评判：{detail}",
        "abstained": "[[弃权]]：我的置信度 {c:.2f} 低于保证与人类评判一致率达到 {target:.0%} 所需的阈值 "
        "{t:.2f}，因此该评判留待复核，不计为已判定。",
        "abstained_no_threshold": "[[弃权]]：已有的人工标注尚不足以支持任何能保证与人类评判一致率达到 "
        "{target:.0%} 的置信度阈值，因此该评判留待复核，不计为已判定。",
    },
}


def _fmt(score: int | None) -> str:
    return "N/A" if score is None else str(score)


def _line(i: int, name: str, reason: str, tail: str, sep: str) -> str:
    body = f"{reason} {tail}" if reason else tail
    return f"{i}. {name}{sep}{body}"


def _section(title: str, items: list[CriterionScore], sep: str) -> list[str]:
    if not items:
        return []
    lines = [title]
    lines += [_line(i, c.name, c.reason, f"[[{_fmt(c.score)}]]", sep) for i, c in enumerate(items, 1)]
    return [*lines, ""]


_LOWERCASE_STARTERS = frozenset(
    [
        "although",
        "both",
        "the",
        "this",
        "it",
        "overall",
        "while",
        "despite",
        "however",
        "neither",
        "each",
        "they",
        "its",
    ]
)


def _summary(text: str, words: dict[str, str]) -> str:
    """``In summary, <summary>``; a plain sentence opener is lower-cased to continue the phrase."""
    text = text.strip()
    if not text:
        return ""
    prefix = words["summary"]
    if text.lower().startswith(prefix.strip().lower().rstrip(",，")):
        return text
    first = text.split(" ", 1)[0]
    if first.lower() in _LOWERCASE_STARTERS:
        text = text[0].lower() + text[1:]
    return prefix + text


def render_single(v: SingleVerdict, scale: ScoreScale, language: Language, reasons: Reasons = "full") -> str:
    """PAI's text; with ``reasons: "none"`` the same lines without reasons or summary (every ``[[…]]``
    stays where PAI puts it)."""
    w = _WORDS[language]
    threshold = scale.strength_threshold
    strengths = [c for c in v.criteria if c.score is not None and c.score >= threshold]
    weaknesses = [c for c in v.criteria if c.score is not None and c.score < threshold]
    not_applicable = [c for c in v.criteria if c.score is None]
    lines = [
        w["single_head"].format(n=v.overall) + w["single_scores" if reasons == "none" else "single_reasons"]
    ]
    lines += _section(w["strengths"], strengths, w["sep"])
    lines += _section(w["weaknesses"], weaknesses, w["sep"])
    lines += _section(w["not_applicable"], not_applicable, w["sep"])
    summary = _summary(v.summary, w)
    if summary:
        lines.append(summary)
    return "\n".join(lines).rstrip()


def render_pairwise(v: PairwiseVerdict, language: Language, reasons: Reasons = "full") -> str:
    w = _WORDS[language]
    head = w["pair_head"].format(verdict=w[v.winner])
    if v.score1 is not None and v.score2 is not None:
        head += w["pair_scores"].format(a=v.score1, b=v.score2)
    lines = [head + (w["pair_scores_only" if reasons == "none" else "pair_reasons"] if v.criteria else "")]
    for i, c in enumerate(v.criteria, 1):
        tail = w["pair_crit"].format(a=_fmt(c.score1), b=_fmt(c.score2))
        lines.append(_line(i, c.name, c.reason, tail, w["sep"]))
    summary = _summary(v.summary, w)
    if summary:
        lines += ["", summary]
    return "***\n" + "\n".join(lines) + "\n***"


def render_unscored(u: Unscored, mode: str, language: Language) -> str:
    w = _WORDS[language]
    key = "unscored_single" if mode == "single" else "unscored_pair"
    return w[key].format(detail=u.detail or u.reason)


def render(
    verdict: Verdict | Unscored, mode: str, scale: ScoreScale, language: Language, reasons: Reasons = "full"
) -> str:
    if isinstance(verdict, Unscored):
        return render_unscored(verdict, mode, language)
    if isinstance(verdict, SingleVerdict):
        return render_single(verdict, scale, language, reasons)
    return render_pairwise(verdict, language, reasons)


def render_abstention(language: str | None, confidence: float, threshold: float | None, target: float) -> str:
    """The sentence added after a verdict held back by an agreement target (the verdict stays above it);
    ``threshold`` None: no threshold is supported."""
    words = _WORDS["zh" if language == "zh" else "en"]
    if threshold is None:
        return words["abstained_no_threshold"].format(target=target)
    return words["abstained"].format(c=confidence, t=threshold, target=target)
