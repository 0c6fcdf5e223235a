"""Labelled pairwise data and other judges' judgments, in the formats of the sets we ship with.

Labels: 1 = the first answer is better, 2 = the second, 0 = tie; ``None`` = an unparseable judgment.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jurist.protocol.json_types import JSONObject, JsonValue

Label = int | None


@dataclass(frozen=True)
class PairItem:
    id: str
    question: str
    answer1: str
    answer2: str
    label: int


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def parse_label(value: Any) -> Label:
    """ "1"/"2"/1/2 → that answer; "0"/0/"tie" → tie; anything else (e.g. "garbage") → None."""
    text = str(value).strip().lower()
    return {"1": 1, "2": 2, "0": 0, "tie": 0, "a": 1, "b": 2}.get(text)


def _score(value: JsonValue) -> float:
    """A reference score: a number, or a string holding one."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"a score must be a number, not {value!r}")
    return float(value)


def _majority(values: list[Any]) -> int:
    label, count = Counter(parse_label(v) for v in values).most_common(1)[0]
    if label is None or count * 2 <= len(values):
        raise ValueError(f"no majority label among {values}")
    return label


def _records(path: Path) -> list[JSONObject]:
    text = path.read_text("utf-8")
    if text.lstrip().startswith("["):
        data = json.loads(text)
        return [r for r in data if isinstance(r, dict)]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def load_pairwise(path: Path) -> list[PairItem]:
    """PandaLM's test set (``instruction``/``input``/``response1``/``response2``/``annotator1..3``, gold =
    majority vote) or plain JSONL ``{question, answer1, answer2, label}``."""
    items = []
    for number, record in enumerate(_records(path)):
        if "annotator1" in record:
            question = _text(record["instruction"])
            if record.get("input"):
                question += "\n\n" + _text(record["input"])
            votes = [record[k] for k in ("annotator1", "annotator2", "annotator3") if k in record]
            items.append(
                PairItem(
                    str(record.get("idx", number)),
                    question,
                    _text(record["response1"]),
                    _text(record["response2"]),
                    _majority(votes),
                )
            )
        else:
            label = parse_label(record["label"])
            if label is None:
                raise ValueError(f"line {number + 1}: label must be 1, 2 or tie, not {record['label']!r}")
            items.append(
                PairItem(
                    str(record.get("id", number)),
                    _text(record["question"]),
                    _text(record["answer1"]),
                    _text(record["answer2"]),
                    label,
                )
            )
    return items


def judgment_records(path: Path) -> list[tuple[int, str, JSONObject]]:
    """(position, item id, record) of a judgments file; the id is ``idx``, ``id`` or the position."""
    return [
        (number, str(record.get("idx", record.get("id", number))), record)
        for number, record in enumerate(_records(path))
    ]


def load_judgments(path: Path) -> dict[str, Label]:
    """Another judge's verdicts by item id: PandaLM's committed files (``gpt_result``,
    ``pandalm_result``) or JSONL ``{id, result}``."""
    out: dict[str, Label] = {}
    for _, key, record in judgment_records(path):
        value = next(
            (record[k] for k in ("result", "gpt_result", "pandalm_result", "label") if k in record), None
        )
        out[key] = parse_label(value)
    return out


@dataclass(frozen=True)
class GradedItem:
    """A single answer with a rubric and reference scores (e.g. three GPT-4 grades)."""

    id: str
    question: str
    answer: str
    reference: str | None
    rubric_name: str
    rubric: str
    scores: tuple[float, ...]

    @property
    def mean_score(self) -> float:
        return sum(self.scores) / len(self.scores)


_SECTION = re.compile(r"^###([^\n:]+):[ \t]*\n?", re.MULTILINE)


def _sections(text: str) -> dict[str, str]:
    parts = _SECTION.split(text)
    return {parts[i].strip().lower(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def load_graded(path: Path) -> list[GradedItem]:
    """Prometheus-eval's absolute-grading sets (the prompt sections inside ``instruction``,
    ``gpt4_score`` = a list of scores) or JSONL ``{question, answer, score, [reference], [rubric]}``."""
    items = []
    for number, record in enumerate(_records(path)):
        if "gpt4_score" in record:
            sections = _sections(str(record["instruction"]))
            rubric = sections.get("score rubrics", "")
            title, _, levels = rubric.partition("\n")
            raw = record["gpt4_score"]
            scores = json.loads(raw) if isinstance(raw, str) else raw
            items.append(
                GradedItem(
                    str(record.get("idx", number)),
                    sections.get("the instruction to evaluate", ""),
                    sections.get("response to evaluate", ""),
                    sections.get("reference answer (score 5)") or None,
                    title.strip().strip("[]") or "Rubric",
                    levels.strip(),
                    tuple(_score(s) for s in (scores if isinstance(scores, list) else [scores])),
                )
            )
        else:
            score = record["score"]
            items.append(
                GradedItem(
                    str(record.get("id", number)),
                    _text(record["question"]),
                    _text(record["answer"]),
                    None if record.get("reference") is None else _text(record.get("reference")),
                    "Overall quality",
                    str(record.get("rubric", "")),
                    tuple(_score(s) for s in (score if isinstance(score, list) else [score])),
                )
            )
    return items


def is_graded(path: Path) -> bool:
    """A single-answer grading set (reference scores) rather than labelled pairs."""
    records = _records(path)
    return bool(records) and (
        "gpt4_score" in records[0] or ("score" in records[0] and "answer" in records[0])
    )
