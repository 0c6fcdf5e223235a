"""Deterministic judging: the same model + the same request at temperature 0 gives the same answer,
served from the store. Keys cover the model's configuration and every field that can change the answer."""

from __future__ import annotations

import functools
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
    def cache_result(self, result: str, n: int = 1) -> None: ...


def cacheable(raw: dict[str, Any], config: ModelConfig) -> bool:
    """Only deterministic requests: temperature 0 (the request's, or the model's default), one choice,
    and not switched off with ``"cache": false``."""
    if raw.get("cache") is False:
        return False
    temperature = raw.get("temperature")
    effective = config.temperature if temperature is None else temperature
    return effective == 0 and raw.get("n") in (None, 1)


@functools.lru_cache(maxsize=64)
def _identity(config: ModelConfig) -> bytes:
    """What about a model decides its answers (not its credentials or pool size)."""
    fields = config.model_dump(
        mode="json", exclude={"api_key", "api_key_env", "max_connections", "description"}
    )
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)


def cache_key(raw: dict[str, Any], config: ModelConfig) -> str:
    semantic = {k: v for k, v in raw.items() if k not in _NOT_IN_KEY}
    digest = hashlib.sha256(_identity(config))
    digest.update(orjson.dumps(semantic, option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()
