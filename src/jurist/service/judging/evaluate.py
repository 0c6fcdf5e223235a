"""``jurist eval``: run a judge model over labelled data, through the same engine as the API
(in-process) or against a running Jurist server, and score it.

One seam, ``Judgments``: a chat-completions request body in, the response's ``judgment`` out. Pairs are
judged in both orders; graded answers are scored in single mode with their rubric as the criterion.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import aiohttp
import orjson
from pydantic import TypeAdapter

from jurist.evaluation.datasets import GradedItem, Label, PairItem
from jurist.evaluation.metrics import Correlation, TwoOrderReport, correlation, two_orders
from jurist.protocol.json_types import JSONObject
from jurist.protocol.judgment import Judgment, PairwiseJudgment, SingleJudgment
from jurist.service.judging.pipeline import ChatService
from jurist.service.judging.requests import parse_chat_request

Judged = SingleJudgment | PairwiseJudgment | None
Judgments = Callable[[JSONObject], Awaitable[Judged]]
_READ_JUDGMENT: TypeAdapter[SingleJudgment | PairwiseJudgment] = TypeAdapter(Judgment)
T = TypeVar("T")
_WINNER_LABEL = {"response_1": 1, "response_2": 2, "tie": 0}
_FLIP: dict[int, int] = {1: 2, 2: 1, 0: 0}


def local_judgments(chat: ChatService) -> Judgments:
    async def judge(raw: JSONObject) -> Judged:
        completion = await chat.complete(parse_chat_request(raw))
        return completion.judgment

    return judge


def server_judgments(session: aiohttp.ClientSession, base_url: str, key: str) -> Judgments:
    url = base_url.rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    async def judge(raw: JSONObject) -> Judged:
        async with session.post(url, data=orjson.dumps(raw), headers=headers) as resp:
            data = orjson.loads(await resp.read())
        found = data.get("judgment") if resp.status == 200 else None
        return None if found is None else _READ_JUDGMENT.validate_python(found)

    return judge


def _judge_item(model: str, mode: str, fields: JSONObject) -> JSONObject:
    return {
        "model": model,
        "messages": [{"role": "user", "content": [{"mode": mode, "type": "json", "json": fields}]}],
    }


def pair_request(
    model: str, question: str, answer1: str, answer2: str, criteria: Sequence[str] | None = None
) -> JSONObject:
    """One order of a pair; ``swap: false`` because the evaluation judges both orders itself (a model's
    ``samples`` still apply)."""
    fields: JSONObject = {"question": question, "answer1": answer1, "answer2": answer2, "swap": False}
    if criteria:
        fields["criteria"] = list(criteria)
    return _judge_item(model, "pairwise", fields)


def grade_request(model: str, item: GradedItem) -> JSONObject:
    fields: JSONObject = {
        "question": item.question,
        "answer": item.answer,
        "criteria": [{"name": item.rubric_name[:100] or "Rubric", "description": item.rubric[:2000]}],
    }
    if item.reference:
        fields["reference"] = item.reference
    return _judge_item(model, "single", fields)


def label_of(judgment: Judged) -> Label:
    if not isinstance(judgment, PairwiseJudgment) or not judgment.scored or judgment.winner is None:
        return None
    return _WINNER_LABEL[judgment.winner]


def score_of(judgment: Judged) -> float | None:
    if not isinstance(judgment, SingleJudgment) or not judgment.scored or judgment.overall_score is None:
        return None
    return float(judgment.overall_score)


async def _each(
    items: Sequence[T],
    work: Callable[[T], Awaitable[None]],
    concurrency: int,
    progress: Callable[[int], None] | None,
) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(item: T) -> None:
        async with gate:
            await work(item)
        if progress is not None:
            progress(1)

    await asyncio.gather(*(one(item) for item in items))


async def evaluate_pairs(
    items: Sequence[PairItem],
    judge: Judgments,
    model: str,
    concurrency: int = 4,
    progress: Callable[[int], None] | None = None,
    criteria: Sequence[str] | None = None,
) -> tuple[TwoOrderReport, list[Label], list[Label]]:
    """Every item as given and swapped (mapped back to the given order)."""
    first: dict[int, Label] = {}
    second: dict[int, Label] = {}

    async def work(index: int) -> None:
        item = items[index]
        given = pair_request(model, item.question, item.answer1, item.answer2, criteria)
        first[index] = label_of(await judge(given))
        other = pair_request(model, item.question, item.answer2, item.answer1, criteria)
        swapped = label_of(await judge(other))
        second[index] = None if swapped is None else _FLIP[swapped]

    await _each(range(len(items)), work, concurrency, progress)
    a, b = [first[i] for i in range(len(items))], [second[i] for i in range(len(items))]
    return two_orders([i.label for i in items], a, b), a, b


async def evaluate_grades(
    items: Sequence[GradedItem],
    judge: Judgments,
    model: str,
    concurrency: int = 4,
    progress: Callable[[int], None] | None = None,
) -> tuple[Correlation, list[float | None]]:
    """Grade every answer and correlate the judge's scores with the reference scores."""
    scores: dict[int, float | None] = {}

    async def work(index: int) -> None:
        scores[index] = score_of(await judge(grade_request(model, items[index])))

    await _each(range(len(items)), work, concurrency, progress)
    ordered = [scores[i] for i in range(len(items))]
    return correlation(ordered, [i.mean_score for i in items]), ordered
