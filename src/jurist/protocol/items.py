"""The judge items of PAI's API (``mode: single | pairwise``), validated.

Unknown fields are kept, not rejected (PAI ignores them), and named by ``unknown_fields()`` so the
judgment can warn about each one: a typo such as ``refrence`` changes the verdict.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)

from jurist.protocol.json_types import JSONObject
from jurist.protocol.judgment import Mode

MODES: tuple[Mode, ...] = ("single", "pairwise")
# how much the judge writes: reasons and a summary (PAI's text), one short sentence each, or scores only
Reasons = Literal["full", "short", "none"]
REASONS: tuple[Reasons, ...] = ("full", "short", "none")


def item_in_text(text: str) -> JSONObject | None:
    """The fields of the judge item a text holds — a JSON object with a judge ``mode`` (PAI's whole
    part pasted in reads as its ``json`` with the ``mode``) — or None when it is plain text."""
    head = text[:1]
    if head != "{" and not (head.isspace() and text.lstrip().startswith("{")):
        return None
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or data.get("mode") not in MODES:
        return None
    if isinstance(data.get("json"), dict):
        return {**data["json"], "mode": data["mode"]}
    return data


@dataclass(frozen=True)
class ItemSite:
    """A judge item found in a chat body's messages: the part (or string content) that holds it, where
    its fields are (the part's ``json``, its ``text``, or the content), its ``mode`` as sent, and its
    fields with that mode (None: a part with a ``mode`` but no ``json`` object)."""

    location: str
    fields_at: str
    mode: object
    fields: JSONObject | None


def message_items(messages: object) -> Iterator[ItemSite]:
    """Every judge item in ``messages`` (a chat body's JSON list), in order, in the two forms that live
    in messages: PAI's content part (any part with a ``mode``), and a text part or string content
    holding the item as a JSON object (``item_in_text``). The request parser validates what this finds;
    reports read answers from it. Anything that is not a message or a part is passed over."""
    base = "messages"
    for i, message in enumerate(messages if isinstance(messages, list) else ()):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            fields = item_in_text(content)
            if fields is not None:
                where = f"{base}[{i}].content"
                yield ItemSite(where, where, fields["mode"], fields)
            continue
        for j, part in enumerate(content if isinstance(content, list) else ()):
            if not isinstance(part, dict):
                continue
            mode, text = part.get("mode"), part.get("text")
            if mode is not None:
                at = f"{base}[{i}].content[{j}]"
                json_ = part.get("json")
                yield ItemSite(
                    at, f"{at}.json", mode, {**json_, "mode": mode} if isinstance(json_, dict) else None
                )
            elif part.get("type") == "text" and isinstance(text, str):
                fields = item_in_text(text)
                if fields is not None:
                    at = f"{base}[{i}].content[{j}]"
                    yield ItemSite(at, f"{at}.text", fields["mode"], fields)


class _Lenient(BaseModel):
    """Keeps unknown fields, so they can be reported."""

    model_config = ConfigDict(extra="allow")

    def _unknown(self) -> list[str]:
        return list(self.model_extra or ())


class CriterionSpec(_Lenient):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)


class Turn(_Lenient):
    """One turn of a conversation given as the question (MT-Bench style multi-turn judging)."""

    role: Literal["user", "assistant"]
    content: str


class _ItemBase(_Lenient):
    question: str | list[Turn] = Field(min_length=1)
    reference: str | None = None
    criteria: list[str | CriterionSpec] | None = Field(default=None, min_length=1, max_length=20)
    scene: str | None = Field(default=None, max_length=200)
    score_range: tuple[int, int] | None = None
    return_prompt: bool = False
    samples: int | None = Field(default=None, ge=1, le=16)  # judgments to draw (None: the model's default)
    reasons: Reasons | None = None  # verdict length (None: the model's default)
    # selective verdicts: abstain below the confidence that guarantees this agreement with humans
    agreement_target: float | None = Field(default=None, gt=0.5, lt=1.0)
    delta: float | None = Field(default=None, gt=0.0, lt=1.0)  # None: the model's default (0.1)

    @field_validator("score_range")
    @classmethod
    def _check_range(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is None:
            return value
        low, high = value
        if not 0 <= low < high <= 100:
            raise ValueError("score_range must be [low, high] with 0 <= low < high <= 100")
        if high - low > 20:
            raise ValueError("score_range may span at most 20 points (e.g. [1, 10])")
        return value

    @field_validator("question")
    @classmethod
    def _conversation_ends_with_the_user(cls, value: str | list[Turn]) -> str | list[Turn]:
        if isinstance(value, list) and value[-1].role != "user":
            raise ValueError("a conversation given as the question must end with a user turn")
        return value

    @property
    def question_text(self) -> str:
        """The question itself: the text, or the last user turn of a conversation."""
        return self.question if isinstance(self.question, str) else self.question[-1].content

    @property
    def question_texts(self) -> list[str]:
        return [self.question] if isinstance(self.question, str) else [t.content for t in self.question]

    @model_validator(mode="after")
    def _unique_criteria(self) -> _ItemBase:
        names = [c if isinstance(c, str) else c.name for c in self.criteria or []]
        if len({n.strip().lower() for n in names}) != len(names):
            raise ValueError("criteria names must be unique")
        if any(not n.strip() for n in names):
            raise ValueError("criteria names must not be empty")
        return self

    @property
    def low(self) -> int:
        return self.score_range[0] if self.score_range else 1

    @property
    def high(self) -> int:
        return self.score_range[1] if self.score_range else 5

    _warnings: list[str] = PrivateAttr(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """What the judgment warns about this item (set by ``located``)."""
        return self._warnings

    def located(self, where: str) -> None:
        """Record where the item was found, naming each ignored field by its full path."""
        self._warnings = [f"Unknown field '{where}.{name}' was ignored." for name in self.unknown_fields()]

    def unknown_fields(self) -> list[str]:
        """Dotted paths of the fields this item ignored (``refrence``, ``criteria[1].desc``)."""
        names = [n for n in self._unknown() if n not in ("mode", "type")]
        for i, c in enumerate(self.criteria or []):
            if isinstance(c, CriterionSpec):
                names += [f"criteria[{i}].{n}" for n in c._unknown()]
        if isinstance(self.question, list):
            for i, t in enumerate(self.question):
                names += [f"question[{i}].{n}" for n in t._unknown()]
        return names

    def criterion_specs(self) -> list[CriterionSpec] | None:
        if self.criteria is None:
            return None
        return [CriterionSpec(name=c) if isinstance(c, str) else c for c in self.criteria]


class SingleItem(_ItemBase):
    """Grade one answer: overall score plus per-criterion scores."""

    mode: Literal["single"] = "single"
    answer: str


class PairwiseItem(_ItemBase):
    """Compare two answers: winner or tie, plus per-criterion scores for each."""

    mode: Literal["pairwise"] = "pairwise"
    answer1: str
    answer2: str
    swap: bool | None = None  # judge both orders and reconcile (None: the model's default)


JudgeItem = SingleItem | PairwiseItem
_TAGS = {"single": "SingleItem", "pairwise": "PairwiseItem"}  # capitalised: error paths leave them out


def _item_tag(value: Any) -> str | None:
    mode = value.get("mode") if isinstance(value, dict) else getattr(value, "mode", None)
    return _TAGS.get(mode) if isinstance(mode, str) else None


TaggedJudgeItem = Annotated[
    Annotated[SingleItem, Tag("SingleItem")] | Annotated[PairwiseItem, Tag("PairwiseItem")],
    Discriminator(
        _item_tag,
        custom_error_type="invalid_judge_mode",
        custom_error_message="a judge item needs 'mode': 'single' or 'pairwise'",
    ),
]
