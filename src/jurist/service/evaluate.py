"""``jurist eval``: run a judge model over labelled pairs in both orders, through the same engine as the
API (in-process) or against a running Jurist server, and score it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
import orjson

from jurist.evaluation.datasets import GradedItem, Label, PairItem
from jurist.evaluation.metrics import Correlation, TwoOrderReport, correlation, two_orders
from jurist.protocol.chat import ChatCompletionRequest
from jurist.service.chat import ChatService

Judge = Callable[[str, str, str], Awaitable[Label]]
_WINNER_LABEL = {"response_1": 1, "response_2": 2, "tie": 0}


def judge_request(model: str, question: str, answer1: str, answer2: str) -> dict[str, Any]:
    item = {"question": question, "answer1": answer1, "answer2": answer2, "swap": False}
    return {
        "model": model,
        "messages": [{"role": "user", "content": [{"mode": "pairwise", "type": "json", "json": item}]}],
    }


def label_of(judgment: dict[str, Any] | None) -> Label:
    if not judgment or not judgment.get("scored"):
        return None
    return _WINNER_LABEL.get(str(judgment.get("winner")))


def local_judge(chat: ChatService, model: str) -> Judge:
    async def judge(question: str, answer1: str, answer2: str) -> Label:
        raw = judge_request(model, question, answer1, answer2)
        completion = await chat.complete(ChatCompletionRequest.model_validate(raw), raw)
        return label_of(completion.judgment)

    return judge


def server_judge(session: aiohttp.ClientSession, base_url: str, key: str, model: str) -> Judge:
    url = base_url.rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    async def judge(question: str, answer1: str, answer2: str) -> Label:
        body = orjson.dumps(judge_request(model, question, answer1, answer2))
        async with session.post(url, data=body, headers=headers) as resp:
            data = orjson.loads(await resp.read())
        if resp.status != 200:
            return None
        return label_of(data.get("judgment"))

    return judge


_FLIP: dict[int, int] = {1: 2, 2: 1, 0: 0}


async def evaluate_pairs(
    items: Sequence[PairItem],
    judge: Judge,
    concurrency: int = 4,
    progress: Callable[[int], None] | None = None,
) -> tuple[TwoOrderReport, list[Label], list[Label]]:
    """Every item as given and swapped (mapped back to the given order)."""
    first: list[Label] = [None] * len(items)
    second: list[Label] = [None] * len(items)
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int, item: PairItem) -> None:
        async with gate:
            first[index] = await judge(item.question, item.answer1, item.answer2)
            swapped = await judge(item.question, item.answer2, item.answer1)
            second[index] = None if swapped is None else _FLIP[swapped]
        if progress is not None:
            progress(1)

    await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
    return two_orders([i.label for i in items], first, second), first, second


GradeJudge = Callable[[GradedItem], Awaitable[float | None]]


def grade_request(model: str, item: GradedItem) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "question": item.question,
        "answer": item.answer,
        "criteria": [{"name": item.rubric_name[:100] or "Rubric", "description": item.rubric[:2000]}],
    }
    if item.reference:
        fields["reference"] = item.reference
    return {
        "model": model,
        "messages": [{"role": "user", "content": [{"mode": "single", "type": "json", "json": fields}]}],
    }


def _score_of(judgment: dict[str, Any] | None) -> float | None:
    if not judgment or not judgment.get("scored"):
        return None
    score = judgment.get("overall_score")
    return float(score) if isinstance(score, (int, float)) else None


def local_grader(chat: ChatService, model: str) -> GradeJudge:
    async def grade(item: GradedItem) -> float | None:
        raw = grade_request(model, item)
        completion = await chat.complete(ChatCompletionRequest.model_validate(raw), raw)
        return _score_of(completion.judgment)

    return grade


def server_grader(session: aiohttp.ClientSession, base_url: str, key: str, model: str) -> GradeJudge:
    url = base_url.rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    async def grade(item: GradedItem) -> float | None:
        async with session.post(url, data=orjson.dumps(grade_request(model, item)), headers=headers) as resp:
            data = orjson.loads(await resp.read())
        return _score_of(data.get("judgment")) if resp.status == 200 else None

    return grade


async def evaluate_grades(
    items: Sequence[GradedItem],
    grade: GradeJudge,
    concurrency: int = 4,
    progress: Callable[[int], None] | None = None,
) -> tuple[Correlation, list[float | None]]:
    """Grade every answer and correlate the judge's scores with the reference scores."""
    scores: list[float | None] = [None] * len(items)
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int, item: GradedItem) -> None:
        async with gate:
            scores[index] = await grade(item)
        if progress is not None:
            progress(1)

    await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
    return correlation(scores, [i.mean_score for i in items]), scores
