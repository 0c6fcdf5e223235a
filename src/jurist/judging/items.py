"""The judge content items of PAI's API (``mode: single | pairwise``), validated."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Mode = Literal["single", "pairwise"]
MODES: tuple[Mode, ...] = ("single", "pairwise")


class CriterionSpec(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)


class Turn(BaseModel):
    """One turn of a conversation given as the question (MT-Bench style multi-turn judging)."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["user", "assistant"]
    content: str


class _ItemBase(BaseModel):
    model_config = ConfigDict(extra="ignore")

    question: str | list[Turn] = Field(min_length=1)
    reference: str | None = None
    criteria: list[str | CriterionSpec] | None = Field(default=None, min_length=1, max_length=20)
    scene: str | None = Field(default=None, max_length=200)
    score_range: tuple[int, int] | None = None
    return_prompt: bool = False
    samples: int | None = Field(default=None, ge=1, le=16)  # judgments to draw (None: the model's default)

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

    def criterion_specs(self) -> list[CriterionSpec] | None:
        if self.criteria is None:
            return None
        return [CriterionSpec(name=c) if isinstance(c, str) else c for c in self.criteria]


class SingleItem(_ItemBase):
    """Grade one answer: overall score plus per-criterion scores."""

    answer: str


class PairwiseItem(_ItemBase):
    """Compare two answers: winner or tie, plus per-criterion scores for each."""

    answer1: str
    answer2: str
    swap: bool | None = None  # judge both orders and reconcile (None: the model's default)


JudgeItem = SingleItem | PairwiseItem
