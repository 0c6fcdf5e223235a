"""Cache: the judging pipeline's judge cache stage. A deterministic request (temperature 0) is looked up
by its key (``cache.cache_key``: the model's configuration and every field that can change the answer,
and the tenant with the ``tenant`` scope, the default, so a hit never tells one tenant what another has
judged); a miss is played (``games``) and kept when it holds a scored judgment (or is a plain completion)."""

from __future__ import annotations

import time
from typing import Literal

from jurist.ids import chat_completion_id, new_ids
from jurist.protocol.chat import ChatCompletion, ChatCompletionRequest
from jurist.protocol.json_types import JSONObject
from jurist.service.judging.cache import CacheCounter, CachedBody, cache_key, cacheable, refreshed
from jurist.service.judging.models import JudgeModel
from jurist.store.cache import CacheStore


class JudgeCache:
    def __init__(
        self,
        models: dict[str, JudgeModel],
        store: CacheStore | None = None,
        counter: CacheCounter | None = None,
        scope: Literal["tenant", "global"] = "tenant",
    ) -> None:
        self._models = models
        self._store = store
        self._counter = counter
        self._per_tenant = scope == "tenant"  # the tenant is in every judge-cache key

    def key_for(self, body: JSONObject, tenant: str) -> str | None:
        """The judge-cache key of a request body (a request's ``source``, or a batch line's at
        validation) sent by ``tenant``, or None when it is not cacheable. An invalid body may get a
        key: nothing is ever cached under it."""
        model = self._models.get(str(body.get("model")))
        if self._store is None or model is None or not cacheable(body, model.config):
            return None
        return cache_key(body, model.config, tenant if self._per_tenant else None)

    async def lookup(
        self, request: ChatCompletionRequest, tenant: str
    ) -> tuple[str | None, ChatCompletion | None]:
        """The request's key (None: not cacheable) and its cached completion (None: a miss), counted."""
        key = self.key_for(request.source, tenant)
        if self._store is None or key is None:
            return None, None
        cached = await self._store.cache_get(key)
        if cached is None:
            self._count("miss")
            return key, None
        self._count("hit")
        hit = ChatCompletion.model_validate_json(cached).model_copy(
            update={"id": chat_completion_id(), "created": int(time.time())}
        )
        hit._cache = "hit"
        return key, hit

    async def keep(self, key: str | None, request: ChatCompletionRequest, completion: ChatCompletion) -> None:
        """Store a missed completion under its key when it can be reused (a scored judgment, or a plain
        completion); marks it a miss."""
        if self._store is None or key is None:
            return
        completion._cache = "miss"
        if completion.judgment is None or completion.judgment.scored:
            await self._store.cache_put(key, request.model, completion.model_dump_json(), int(time.time()))

    async def many(self, keys: list[str]) -> dict[str, CachedBody]:
        """``chat.completion`` bodies the cache holds for these keys, as JSON with a fresh id and
        ``created``, counted as hits (a batch's lines, looked up at once)."""
        if self._store is None or not keys:
            return {}
        found = await self._store.cache_get_many(keys)
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
