"""The chat use case: a judge item (``mode: single | pairwise``) becomes a judgment; plain
system/user messages (a custom template) go to the judge model as they are.

A judgment then gets the tenant's trust (``service.trust``: calibrated confidence; with an agreement
target, a threshold and ``abstained``), after the judge cache. A cascade model (``service.cascade``)
runs its stages, each through the judge cache, and keeps the first confident verdict."""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

from jurist.backends.base import Backend, GenerationRequest
from jurist.errors import ModelNotFound
from jurist.ids import chat_completion_id, new_ids
from jurist.judging.prompts import build_task
from jurist.protocol.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    ChunkDelta,
    ResponseMessage,
    Usage,
)
from jurist.protocol.items import JudgeItem, PairwiseItem
from jurist.protocol.json_types import JSONObject
from jurist.protocol.judgment import PairwiseJudgment, SingleJudgment
from jurist.service.judging.cache import CacheCounter, CachedBody, cache_key, cacheable, refreshed
from jurist.service.judging.cascade import cascade_thresholds, run_cascade
from jurist.service.judging.ensemble import EnsemblePlan, JudgeOutcome, judge_item
from jurist.service.trust.trust import NoCalibrations, Target, TrustService, with_judgment
from jurist.settings import ModelConfig
from jurist.store.cache import CacheStore
from jurist.store.usage import UsageCounts, judge_calls

_STREAM_PIECE = 64


@dataclass(frozen=True)
class JudgeModel:
    name: str
    config: ModelConfig
    backend: Backend  # a cascade's: its first stage's (custom templates go there)
    stages: tuple[JudgeModel, ...] = ()  # a cascade's stages, in order


class ChatService:
    def __init__(
        self,
        models: dict[str, JudgeModel],
        cache: CacheStore | None = None,
        counter: CacheCounter | None = None,
        trust: TrustService | None = None,
        cache_scope: Literal["tenant", "global"] = "tenant",
    ) -> None:
        self._models = models
        self._cache = cache
        self._per_tenant = cache_scope == "tenant"  # the tenant is in every judge-cache key
        self._counter = counter
        self.trust = trust or TrustService(NoCalibrations())

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

    def _generation(self, request: ChatCompletionRequest, model: JudgeModel) -> GenerationRequest:
        judging = model.config.judging
        max_tokens = request.token_limit or judging.max_tokens
        temperature = judging.temperature if request.temperature is None else request.temperature
        if request.judge is not None:  # the judge's own prompt is set per game
            return GenerationRequest([], max_tokens, temperature, request.top_p, seed=request.seed)
        return GenerationRequest(
            messages=request.sent_messages,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=request.top_p,
            stop=request.stop,
            seed=request.seed,
            response_format=request.response_format,
            logprobs=request.logprobs,
            top_logprobs=request.top_logprobs,
            extra=request.passthrough,
        )

    async def complete(self, request: ChatCompletionRequest, tenant: str = "") -> ChatCompletion:
        """One completion; deterministic requests (temperature 0) are served from the judge cache. A
        judgment gets the tenant's trust; a requested agreement target the tenant's labels cannot
        support is a 400 before any judge call."""
        model = self.resolve(request.model)
        item = request.judge
        if item is None:
            return await self.cached_complete(request, model, tenant)
        return await self._judged(request, model, item, tenant, cached=True)

    async def require_target(self, request: ChatCompletionRequest, tenant: str) -> None:
        """A 400 when the request asks for an agreement target the tenant's labels cannot support."""
        model, item = self.resolve(request.model), request.judge
        target = None if item is None else self.target_of(request, model)
        if item is None or target is None or not target.strict:
            return
        if model.stages:
            await cascade_thresholds(self, model, item.mode, tenant, target)
        else:
            await self.trust.require(tenant, model.name, item.mode, target)

    def target_of(self, request: ChatCompletionRequest, model: JudgeModel) -> Target | None:
        """The request's agreement target (strict), else the model's default (lenient), else None."""
        item, judging = request.judge, model.config.judging
        if item is not None and item.agreement_target is not None:
            delta = judging.delta if item.delta is None else item.delta
            return Target(item.agreement_target, delta, strict=True)
        if judging.agreement_target is not None:
            delta = judging.delta if item is None or item.delta is None else item.delta
            return Target(judging.agreement_target, delta, strict=False)
        return None

    async def trusted(
        self, completion: ChatCompletion, tenant: str, model: str, target: Target | None
    ) -> ChatCompletion:
        """The completion with the tenant's trust in its judgment (and the abstention sentence)."""
        if completion.judgment is None:
            return completion
        return with_judgment(completion, await self.trust.assess(tenant, model, completion.judgment, target))

    async def cached_complete(
        self, request: ChatCompletionRequest, model: JudgeModel, tenant: str
    ) -> ChatCompletion:
        """The completion, from the tenant's judge cache when it can be, without the tenant's trust."""
        key = self.cache_key_for(request.source, tenant)
        if self._cache is None or key is None:
            return await self._complete(request, model)
        cached = await self._cache.cache_get(key)
        if cached is not None:
            self._count("hit")
            hit = ChatCompletion.model_validate_json(cached).model_copy(
                update={"id": chat_completion_id(), "created": int(time.time())}
            )
            hit._cache = "hit"
            return hit
        self._count("miss")
        completion = await self._complete(request, model)
        completion._cache = "miss"
        if completion.judgment is None or completion.judgment.scored:
            await self._cache.cache_put(key, request.model, completion.model_dump_json(), int(time.time()))
        return completion

    def cache_key_for(self, body: JSONObject, tenant: str) -> str | None:
        """The judge-cache key of a request body (a request's ``source``, or a batch line's at
        validation) sent by ``tenant``, or None when it is not cacheable. An invalid body may get a
        key: nothing is ever cached under it. With the ``tenant`` cache scope (the default) the tenant
        is part of the key, so a hit never tells one tenant what another has judged."""
        model = self._models.get(str(body.get("model")))
        if self._cache is None or model is None or not cacheable(body, model.config):
            return None
        return cache_key(body, model.config, tenant if self._per_tenant else None)

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

    async def _complete(self, request: ChatCompletionRequest, model: JudgeModel) -> ChatCompletion:
        created = int(time.time())
        item = request.judge
        if item is None:
            gen = await model.backend.generate(self._generation(request, model))
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
        outcome = await self._judge(request, model, item)
        return ChatCompletion(
            id=chat_completion_id(),
            created=created,
            model=request.model,
            choices=[Choice(message=ResponseMessage(content=outcome.text), finish_reason="stop")],
            usage=_usage(outcome.prompt_tokens, outcome.completion_tokens),
            judgment=outcome.judgment,
        )

    def open_stream(
        self,
        request: ChatCompletionRequest,
        used: Callable[[UsageCounts], None] | None = None,
        tenant: str = "",
    ) -> AsyncIterator[ChatCompletionChunk]:
        """Check the request now (so errors are plain 4xx responses), then return its chunks.
        Judge verdicts are rendered whole, then sent in pieces; a custom template streams the
        backend's tokens as they come. ``used`` hears what the stream used once its judge calls are done."""
        return self._stream(request, self.resolve(request.model), used, tenant)

    async def _stream(
        self,
        request: ChatCompletionRequest,
        model: JudgeModel,
        used: Callable[[UsageCounts], None] | None = None,
        tenant: str = "",
    ) -> AsyncIterator[ChatCompletionChunk]:
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        cid, created = chat_completion_id(), int(time.time())

        def chunk(
            delta: ChunkDelta, finish: str | None = None, usage: Usage | None = None,
            judgment: SingleJudgment | PairwiseJudgment | None = None, empty: bool = False,
        ) -> ChatCompletionChunk:  # fmt: skip
            choices = [] if empty else [ChunkChoice(delta=delta, finish_reason=finish)]
            return ChatCompletionChunk(
                id=cid, created=created, model=request.model, choices=choices, usage=usage,
                judgment=judgment,
            )  # fmt: skip

        yield chunk(ChunkDelta(role="assistant", content=""))
        item = request.judge
        if item is None:
            prompt = completion = 0
            finish = "stop"
            async for piece in model.backend.stream(self._generation(request, model)):
                if piece.text:
                    yield chunk(ChunkDelta(content=piece.text))
                if piece.finish_reason is not None:
                    finish = piece.finish_reason
                    prompt, completion = piece.prompt_tokens or 0, piece.completion_tokens or 0
            if used is not None:
                used(UsageCounts(1, 1, prompt, completion))
            yield chunk(ChunkDelta(), _finish(finish))
            if include_usage:
                yield chunk(ChunkDelta(), usage=_usage(prompt, completion), empty=True)
            return
        judged = await self._judged(request, model, item, tenant, cached=False)
        tokens = judged.usage
        if used is not None:  # the calls are made: counted even if the client leaves mid-stream
            used(UsageCounts(1, judge_calls(judged), tokens.prompt_tokens, tokens.completion_tokens))
        text = judged.choices[0].message.content or ""
        for start in range(0, len(text), _STREAM_PIECE):
            yield chunk(ChunkDelta(content=text[start : start + _STREAM_PIECE]))
        yield chunk(ChunkDelta(), "stop", judgment=judged.judgment)
        if include_usage:
            yield chunk(ChunkDelta(), usage=tokens, empty=True)

    async def _judged(
        self, request: ChatCompletionRequest, model: JudgeModel, item: JudgeItem, tenant: str, cached: bool
    ) -> ChatCompletion:
        """A judge request's completion with the tenant's trust: a cascade runs its stages (each through
        the judge cache); otherwise a requested target is checked first, then the item is judged
        (``cached``: through the judge cache; a stream is judged whole, as before)."""
        if model.stages:
            return await run_cascade(self, request, model, tenant)
        target = self.target_of(request, model)
        if target is not None:
            await self.trust.require(tenant, model.name, item.mode, target)
        completion = (
            await self.cached_complete(request, model, tenant)
            if cached
            else await self._complete(request, model)
        )
        return await self.trusted(completion, tenant, model.name, target)

    async def _judge(
        self, request: ChatCompletionRequest, model: JudgeModel, item: JudgeItem
    ) -> JudgeOutcome:
        config = model.config
        reason_chars = config.reason_limit
        base = self._generation(request, model)
        if config.wants_logprobs:
            base = dataclasses.replace(base, logprobs=True, top_logprobs=config.judging.top_logprobs)
        swap = isinstance(item, PairwiseItem) and (config.judging.swap if item.swap is None else item.swap)
        plan = EnsemblePlan(
            samples=config.judging.samples if item.samples is None else item.samples,
            swap=swap,
            sample_temperature=config.judging.sample_temperature,
            seed=config.judging.seed,
        )
        reasons = config.judging.reasons if item.reasons is None else item.reasons
        build = functools.partial(build_task, reason_max_chars=reason_chars, reasons=reasons)
        return await judge_item(item, build, model.backend, base, plan)


def _usage(prompt: int, completion: int) -> Usage:
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def _finish(reason: str) -> Any:
    return reason if reason in ("stop", "length", "content_filter", "tool_calls") else "stop"
