"""Deterministic judging: the same model + the same request at temperature 0 gives the same answer,
served from the store. Keys cover the model's configuration and every field that can change the answer."""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

import orjson

from jurist.settings import ModelConfig

# Fields that cannot change the answer (or are Jurist's own switches) are left out of the key.
_NOT_IN_KEY = frozenset({"stream", "stream_options", "user", "metadata", "cache", "store", "service_tier"})


class CacheStore(Protocol):
    async def cache_get(self, key: str) -> str | None: ...

    async def cache_get_many(self, keys: list[str]) -> dict[str, str]: ...

    async def cache_put(self, key: str, model: str, response: str, now: int) -> None: ...


class CacheCounter(Protocol):
    def cache_result(self, result: str) -> None: ...


def cacheable(raw: dict[str, Any], config: ModelConfig) -> bool:
    """Only deterministic requests: temperature 0 (the request's, or the model's default), one choice,
    and not switched off with ``"cache": false``."""
    if raw.get("cache") is False:
        return False
    temperature = raw.get("temperature")
    effective = config.temperature if temperature is None else temperature
    return effective == 0 and raw.get("n") in (None, 1)


def cache_key(raw: dict[str, Any], config: ModelConfig) -> str:
    semantic = {k: v for k, v in raw.items() if k not in _NOT_IN_KEY}
    identity = config.model_dump(
        mode="json", exclude={"api_key", "api_key_env", "max_connections", "description"}
    )
    payload = orjson.dumps({"model": identity, "request": semantic}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(payload).hexdigest()
