"""The judging pipeline: a chat request (parsed by ``requests.parse_chat_request``) becomes a completion
or a judgment on one straight line of stages, each handing on to the next and never calling back:

    parse → plan → for each step: cache → games → trust → decide → respond

- ``plan``: the agreement target, and the steps: the model, or a cascade's stages with their thresholds;
- ``judge_cache``: a deterministic request is served from the judge cache, a miss is kept there;
- ``games``: the judge games an item's ensemble plan calls for, or a plain generation;
- trust (``service.trust``): calibrated confidence, and with a target its threshold and ``abstained``;
- ``decide``: the step whose verdict is the judgment (a cascade escalates until one is confident);
- ``respond``: the completion, or its chunks for a stream.

A plain request (a custom template: system/user messages) goes through the cache to its model as it is."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Literal

from jurist.errors import ModelNotFound
from jurist.protocol.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from jurist.protocol.items import JudgeItem
from jurist.protocol.json_types import JSONObject
from jurist.service.judging.cache import CacheCounter, CachedBody
from jurist.service.judging.decide import Decision
from jurist.service.judging.games import play
from jurist.service.judging.judge_cache import JudgeCache
from jurist.service.judging.models import JudgeModel
from jurist.service.judging.plan import generation, plan_judging, step_request
from jurist.service.judging.respond import Chunks
from jurist.service.trust.trust import NoCalibrations, TrustService, with_judgment
from jurist.store.cache import CacheStore
from jurist.store.usage import UsageCounts


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
        self._cache = JudgeCache(models, cache, counter, cache_scope)
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

    def cache_key_for(self, body: JSONObject, tenant: str) -> str | None:
        """The judge-cache key of a request body sent by ``tenant`` (``JudgeCache.key_for``)."""
        return self._cache.key_for(body, tenant)

    async def cached(self, keys: list[str]) -> dict[str, CachedBody]:
        """The cached ``chat.completion`` bodies of these keys (a batch's lines, looked up at once)."""
        return await self._cache.many(keys)

    async def complete(self, request: ChatCompletionRequest, tenant: str = "") -> ChatCompletion:
        """One completion; deterministic requests (temperature 0) are served from the judge cache. A
        judgment gets the tenant's trust; a requested agreement target the tenant's labels cannot
        support is a 400 before any judge call."""
        model = self.resolve(request.model)
        item = request.judge
        if item is None:
            return await self._cached_play(request, model, tenant)
        return await self._judged(request, model, item, tenant, cached=True)

    async def require_target(self, request: ChatCompletionRequest, tenant: str) -> None:
        """A 400 when the request asks for an agreement target the tenant's labels cannot support."""
        model, item = self.resolve(request.model), request.judge
        if item is not None:
            await plan_judging(self.trust, request, model, item, tenant)

    def open_stream(
        self,
        request: ChatCompletionRequest,
        used: Callable[[UsageCounts], None] | None = None,
        tenant: str = "",
    ) -> AsyncIterator[ChatCompletionChunk]:
        """Check the request now (so errors are plain 4xx responses), then return its chunks.
        ``used`` hears what the stream used once its judge calls are done."""
        return self._stream(request, self.resolve(request.model), used, tenant)

    async def _stream(
        self,
        request: ChatCompletionRequest,
        model: JudgeModel,
        used: Callable[[UsageCounts], None] | None,
        tenant: str,
    ) -> AsyncIterator[ChatCompletionChunk]:
        chunks = Chunks(request)
        yield chunks.first()
        item = request.judge
        if item is None:
            async for chunk in chunks.plain(model.backend.stream(generation(request, model)), used):
                yield chunk
            return
        judged = await self._judged(request, model, item, tenant, cached=False)
        for chunk in chunks.judged(judged, used):
            yield chunk

    async def _cached_play(
        self, request: ChatCompletionRequest, model: JudgeModel, tenant: str
    ) -> ChatCompletion:
        key, hit = await self._cache.lookup(request, tenant)
        if hit is not None:
            return hit
        completion = await play(request, model)
        await self._cache.keep(key, request, completion)
        return completion

    async def _judged(
        self, request: ChatCompletionRequest, model: JudgeModel, item: JudgeItem, tenant: str, cached: bool
    ) -> ChatCompletion:
        """A judge request's completion with the tenant's trust (``cached``: each step through the judge
        cache; a stream's lone model is judged afresh, a cascade's stages always go through it)."""
        plan = await plan_judging(self.trust, request, model, item, tenant)
        decision = Decision(plan)
        for step in plan.steps:
            sent = step_request(request, step, plan)
            if cached or plan.cascade:
                completion = await self._cached_play(sent, step.model, tenant)
            else:
                completion = await play(sent, step.model)
            if completion.judgment is not None:
                assessed = await self.trust.assess(
                    tenant, step.model.name, completion.judgment, plan.assessed_with
                )
                completion = with_judgment(completion, assessed)
            if decision.record(step, completion):
                break
        return decision.verdict(request)
