"""The chat use case: a judge item (``mode: single | pairwise``) becomes a judgment; plain
system/user messages (a custom template) go to the judge model as they are."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from jurist.backends.base import Backend, GenerationRequest
from jurist.errors import InvalidRequest, ModelNotFound
from jurist.ids import chat_completion_id, new_ids
from jurist.judging.items import MODES, JudgeItem, PairwiseItem, SingleItem
from jurist.judging.prompts import build_task
from jurist.protocol.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    ChunkDelta,
    ContentPart,
    ResponseMessage,
    Usage,
)
from jurist.service.cache import CacheCounter, CachedBody, CacheStore, cache_key, cacheable, refreshed
from jurist.service.ensemble import EnsemblePlan, run_ensemble
from jurist.service.judge import JudgeOutcome, run_judgment
from jurist.service.validation import first_error
from jurist.settings import ModelConfig

_STREAM_PIECE = 64
_PASSTHROUGH_KNOWN = frozenset(
    {
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "max_tokens",
        "max_completion_tokens", "n", "seed", "stop", "response_format", "logprobs", "top_logprobs", "cache",
    }
)  # fmt: skip


@dataclass(frozen=True)
class JudgeModel:
    name: str
    config: ModelConfig
    backend: Backend


def find_judge_item(request: ChatCompletionRequest) -> tuple[JudgeItem, str] | None:
    """The judge item of the request and its location, or None for a custom template."""
    found: list[tuple[int, int, ContentPart]] = []
    for i, message in enumerate(request.messages):
        if isinstance(message.content, list):
            found += [(i, j, part) for j, part in enumerate(message.content) if part.mode is not None]
    if not found:
        return None
    if len(found) > 1:
        i, j, _ = found[1]
        raise InvalidRequest(
            "Only one judge item (a content part with 'mode') is allowed per request.",
            param=f"messages[{i}].content[{j}]",
        )
    i, j, part = found[0]
    where = f"messages[{i}].content[{j}]"
    if part.mode not in MODES:
        raise InvalidRequest(
            f"Unknown judge mode {part.mode!r}; use 'single' or 'pairwise'.", param=f"{where}.mode"
        )
    if part.json_ is None:
        raise InvalidRequest(
            f"A '{part.mode}' judge item needs a 'json' object with the fields to judge.",
            param=f"{where}.json",
        )
    cls: type[SingleItem] | type[PairwiseItem] = SingleItem if part.mode == "single" else PairwiseItem
    try:
        return cls.model_validate(part.json_), where
    except ValidationError as exc:
        text, param = first_error(exc, f"{where}.json")
        raise InvalidRequest(text, param=param) from exc


class ChatService:
    def __init__(
        self,
        models: dict[str, JudgeModel],
        cache: CacheStore | None = None,
        counter: CacheCounter | None = None,
    ) -> None:
        self._models = models
        self._cache = cache
        self._counter = counter

    @property
    def models(self) -> dict[str, JudgeModel]:
        return self._models

    def resolve(self, name: str) -> JudgeModel:
        model = self._models.get(name)
        if model is None:
            raise ModelNotFound(
                f"The model '{name}' does not exist. Available: {', '.join(sorted(self._models))}.",
                param="model",
            )
        return model

    def _generation(
        self, request: ChatCompletionRequest, raw: dict[str, Any], model: JudgeModel, judge: bool
    ) -> GenerationRequest:
        common: dict[str, Any] = {
            "max_tokens": request.token_limit or model.config.judging.max_tokens,
            "temperature": model.config.judging.temperature
            if request.temperature is None
            else request.temperature,
            "top_p": request.top_p,
            "seed": request.seed,
        }
        if judge:
            return GenerationRequest(messages=[], **common)
        extra = {k: v for k, v in raw.items() if k not in _PASSTHROUGH_KNOWN}
        return GenerationRequest(
            messages=raw["messages"],
            stop=request.stop,
            response_format=request.response_format,
            logprobs=request.logprobs,
            top_logprobs=request.top_logprobs,
            extra=extra,
            **common,
        )

    async def complete(self, request: ChatCompletionRequest, raw: dict[str, Any]) -> ChatCompletion:
        """One completion; deterministic requests (temperature 0) are served from the judge cache."""
        model = self.resolve(request.model)
        found = find_judge_item(request)
        if self._cache is None or not cacheable(raw, model.config):
            return await self._complete(request, raw, model, found)
        key = cache_key(raw, model.config)
        cached = await self._cache.cache_get(key)
        if cached is not None:
            self._count("hit")
            hit = ChatCompletion.model_validate_json(cached).model_copy(
                update={"id": chat_completion_id(), "created": int(time.time())}
            )
            hit._cache = "hit"
            return hit
        self._count("miss")
        completion = await self._complete(request, raw, model, found)
        completion._cache = "miss"
        if completion.judgment is None or completion.judgment.get("scored"):
            await self._cache.cache_put(key, request.model, completion.model_dump_json(), int(time.time()))
        return completion

    def cache_key_for(self, raw: dict[str, Any]) -> str | None:
        """The judge-cache key of a request body, or None when it is not cacheable."""
        model = self._models.get(str(raw.get("model")))
        if self._cache is None or model is None or not cacheable(raw, model.config):
            return None
        return cache_key(raw, model.config)

    async def cached(self, keys: list[str]) -> dict[str, CachedBody]:
        """``chat.completion`` bodies the cache holds for these keys, as JSON with a fresh id and
        ``created``, counted as hits."""
        if self._cache is None or not keys:
            return {}
        found = await self._cache.cache_get_many(keys)
        now = int(time.time())
        ids = new_ids("chatcmpl-", len(found))
        out = {
            key: refreshed(text.encode(), cid, now)
            for (key, text), cid in zip(found.items(), ids, strict=True)
        }
        self._count("hit", len(out))
        return out

    def _count(self, result: str, n: int = 1) -> None:
        if self._counter is not None and n:
            self._counter.cache_result(result, n)

    async def _complete(
        self,
        request: ChatCompletionRequest,
        raw: dict[str, Any],
        model: JudgeModel,
        found: tuple[JudgeItem, str] | None,
    ) -> ChatCompletion:
        created = int(time.time())
        if found is None:
            gen = await model.backend.generate(self._generation(request, raw, model, False))
            return ChatCompletion(
                id=chat_completion_id(),
                created=created,
                model=request.model,
                choices=[
                    Choice(
                        message=ResponseMessage(content=gen.text),
                        finish_reason=_finish(gen.finish_reason),
                        logprobs=gen.logprobs,
                    )
                ],
                usage=_usage(gen.prompt_tokens, gen.completion_tokens),
            )
        outcome = await self._judge(request, raw, model, found[0])
        return ChatCompletion(
            id=chat_completion_id(),
            created=created,
            model=request.model,
            choices=[Choice(message=ResponseMessage(content=outcome.text), finish_reason="stop")],
            usage=_usage(outcome.prompt_tokens, outcome.completion_tokens),
            judgment=outcome.judgment,
        )

    def open_stream(
        self, request: ChatCompletionRequest, raw: dict[str, Any]
    ) -> AsyncIterator[ChatCompletionChunk]:
        """Check the request now (so errors are plain 4xx responses), then return its chunks.
        Judge verdicts are rendered whole, then sent in pieces; a custom template streams the
        backend's tokens as they come."""
        model = self.resolve(request.model)
        found = find_judge_item(request)
        return self._stream(request, raw, model, found[0] if found else None)

    async def _stream(
        self,
        request: ChatCompletionRequest,
        raw: dict[str, Any],
        model: JudgeModel,
        item: JudgeItem | None,
    ) -> AsyncIterator[ChatCompletionChunk]:
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        cid, created = chat_completion_id(), int(time.time())

        def chunk(
            delta: ChunkDelta, finish: str | None = None, usage: Usage | None = None,
            judgment: dict[str, Any] | None = None, empty: bool = False,
        ) -> ChatCompletionChunk:  # fmt: skip
            choices = [] if empty else [ChunkChoice(delta=delta, finish_reason=finish)]
            return ChatCompletionChunk(
                id=cid, created=created, model=request.model, choices=choices, usage=usage,
                judgment=judgment,
            )  # fmt: skip

        yield chunk(ChunkDelta(role="assistant", content=""))
        if item is None:
            prompt = completion = 0
            finish = "stop"
            async for piece in model.backend.stream(self._generation(request, raw, model, False)):
                if piece.text:
                    yield chunk(ChunkDelta(content=piece.text))
                if piece.finish_reason is not None:
                    finish = piece.finish_reason
                    prompt, completion = piece.prompt_tokens or 0, piece.completion_tokens or 0
            yield chunk(ChunkDelta(), _finish(finish))
            if include_usage:
                yield chunk(ChunkDelta(), usage=_usage(prompt, completion), empty=True)
            return
        outcome = await self._judge(request, raw, model, item)
        text = outcome.text
        for start in range(0, len(text), _STREAM_PIECE):
            yield chunk(ChunkDelta(content=text[start : start + _STREAM_PIECE]))
        yield chunk(ChunkDelta(), "stop", judgment=outcome.judgment)
        if include_usage:
            usage = _usage(outcome.prompt_tokens, outcome.completion_tokens)
            yield chunk(ChunkDelta(), usage=usage, empty=True)

    async def _judge(
        self, request: ChatCompletionRequest, raw: dict[str, Any], model: JudgeModel, item: JudgeItem
    ) -> JudgeOutcome:
        config = model.config
        reason_chars = config.reason_limit
        base = self._generation(request, raw, model, True)
        if config.wants_logprobs:
            base = _with(base, logprobs=True, top_logprobs=config.judging.top_logprobs)
        swap = isinstance(item, PairwiseItem) and (config.judging.swap if item.swap is None else item.swap)
        plan = EnsemblePlan(
            samples=config.judging.samples if item.samples is None else item.samples,
            swap=swap,
            sample_temperature=config.judging.sample_temperature,
            seed=config.judging.seed,
        )
        if plan.calls > 1:
            return await run_ensemble(item, lambda i: build_task(i, reason_chars), model.backend, base, plan)
        task = build_task(item, reason_chars)
        generation = _with(base, messages=task.messages, json_schema=task.schema)
        return await run_judgment(task, model.backend, generation)


def _with(request: GenerationRequest, **changes: Any) -> GenerationRequest:
    return dataclasses.replace(request, **changes)


def _usage(prompt: int, completion: int) -> Usage:
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def _finish(reason: str) -> Any:
    return reason if reason in ("stop", "length", "content_filter", "tool_calls") else "stop"
