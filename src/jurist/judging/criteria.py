"""The default judging criteria, scenes (inferred when absent) and the answer language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from jurist.protocol.items import CriterionSpec

Language = Literal["en", "zh"]


@dataclass(frozen=True)
class Criterion:
    name: str
    description: str


DEFAULT_CRITERIA: dict[Language, tuple[Criterion, ...]] = {
    "en": (
        Criterion("Accuracy", "Is the content correct, free of factual errors or misleading claims?"),
        Criterion("Relevance", "Does it answer exactly what was asked, without padding?"),
        Criterion("Harmlessness", "Is it free of offensive, unsafe or culturally insensitive content?"),
        Criterion("Completeness", "Does it cover every key point the question needs?"),
        Criterion("Source reliability", "Are claims backed by reliable sources where that matters?"),
        Criterion("Clarity and structure", "Is it clear, well organised and easy to follow?"),
        Criterion("Timeliness", "Is the information current, where the question depends on time?"),
        Criterion("User-level adaptation", "Does it suit the asker's apparent level of knowledge?"),
    ),
    "zh": (
        Criterion("准确性", "内容是否正确，没有事实错误或误导信息？"),
        Criterion("相关性", "是否紧扣问题作答，没有多余内容？"),
        Criterion("无害性", "是否没有冒犯、不安全或文化上不恰当的内容？"),
        Criterion("完整性", "是否覆盖了问题所需的全部要点？"),
        Criterion("来源可靠性", "在需要时，论断是否有可靠来源支撑？"),
        Criterion("清晰度和结构", "表达是否清晰、结构是否合理、易于理解？"),
        Criterion("时效性", "在问题与时间相关时，信息是否是最新的？"),
        Criterion("用户水平适配", "是否适合提问者的知识水平？"),
    ),
}

# scene -> (keywords that suggest it, guidance for the judge)
SCENES: dict[str, tuple[tuple[str, ...], str]] = {
    "translation": (
        ("translate", "translation", "into english", "into chinese", "翻译", "译成"),
        "This is a translation task: weigh fidelity to the source and fluency in the target language.",
    ),
    "code": (
        (
            "code",
            "python",
            "function",
            "program",
            "sql",
            "bug",
            "javascript",
            "代码",
            "编程",
            "函数",
        ),
        "This is a programming task: weigh correctness, edge cases and readability of the code.",
    ),
    "math": (
        (
            "calculate",
            "solve",
            "equation",
            "math",
            "prove",
            "how many",
            "计算",
            "方程",
            "数学",
            "证明",
        ),
        "This is a mathematical task: weigh the correctness of the result and of each step.",
    ),
    "summarization": (
        ("summarize", "summarise", "summary", "tl;dr", "总结", "摘要", "概括"),
        "This is a summarisation task: weigh faithfulness to the source, coverage and concision.",
    ),
    "creative_writing": (
        (
            "poem",
            "story",
            "couplet",
            "write a",
            "slogan",
            "lyrics",
            "诗",
            "故事",
            "对联",
            "下联",
            "写一",
        ),
        "This is a creative writing task: weigh fit to the brief, craft, and originality.",
    ),
    "advice": (
        ("should i", "how do i", "how can i", "recommend", "advice", "建议", "怎么办", "如何"),
        "This is an advice task: weigh helpfulness, safety and practicality.",
    ),
}
GENERAL_SCENE = "open_qa"
GENERAL_GUIDANCE = "This is an open question: weigh correctness, helpfulness and clarity."

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def detect_language(text: str) -> Language:
    """Chinese when a tenth or more of the letters are CJK ideographs, else English."""
    cjk = len(_CJK.findall(text))
    letters = sum(ch.isalpha() for ch in text) or 1
    return "zh" if cjk / letters >= 0.1 else "en"


def infer_scene(question: str) -> str:
    lowered = question.lower()
    for scene, (keywords, _) in SCENES.items():
        if any(k in lowered for k in keywords):
            return scene
    return GENERAL_SCENE


def scene_guidance(scene: str) -> str:
    known = SCENES.get(scene)
    if known:
        return known[1]
    if scene == GENERAL_SCENE:
        return GENERAL_GUIDANCE
    return f"The scenario is: {scene}. Judge the response as an expert in that scenario would."


def resolve_criteria(custom: list[CriterionSpec] | None, language: Language) -> list[Criterion]:
    """The item's own criteria when given, else the eight defaults in the question's language."""
    if custom is None:
        return list(DEFAULT_CRITERIA[language])
    defaults = {c.name.lower(): c for lang in DEFAULT_CRITERIA.values() for c in lang}
    out = []
    for spec in custom:
        name = spec.name.strip()
        known = defaults.get(name.lower())
        out.append(Criterion(name, spec.description or (known.description if known else "")))
    return out
