"""Deterministic judging: the same model + the same request at temperature 0 gives the same answer,
served from the store. Keys cover the model's configuration and every field that can change the answer."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from jurist.settings import ModelConfig

# Fields that cannot change the answer (or are Jurist's own switches) are left out of the key.
_NOT_IN_KEY = frozenset({"stream", "stream_options", "user", "metadata", "cache", "store", "service_tier"})


class CacheCounter(Protocol):
    def cache_result(self, result: str, n: int = 1) -> None: ...


def cacheable(body: Mapping[str, Any], config: ModelConfig) -> bool:
    """Only deterministic requests: temperature 0 (the request's, or the model's default), one choice,
    and not switched off with ``"cache": false``. Read from the JSON body, so a batch line is checked at
    validation without being parsed into a request."""
    if body.get("cache") is False:
        return False
    temperature = body.get("temperature")
    effective = config.judging.temperature if temperature is None else temperature
    return effective == 0 and body.get("n") in (None, 1)


@functools.lru_cache(maxsize=64)
def _identity(config: ModelConfig) -> bytes:
    """What about a model decides its answers: its backend's options and its judging policy, not its
    credentials, pool size, timeouts or description (each backend class names those)."""
    fields = config.model_dump(mode="json", exclude=set(config.not_in_cache_key))
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)


def config_digest(config: ModelConfig) -> str:
    """A digest of what about a model decides its answers (``_identity``): two runs graded by models with
    the same digest were graded alike."""
    return hashlib.sha256(_identity(config)).hexdigest()


def cache_key(body: Mapping[str, Any], config: ModelConfig, tenant: str | None = None) -> str:
    """The body's fields that can change the answer, the model, and the tenant whose answers it may
    serve (``None``: every tenant's, the ``global`` cache scope). From the JSON body as sent (a
    request's ``source``), so batch lines are keyed at validation for ~1 µs, unparsed."""
    semantic = {k: v for k, v in body.items() if k not in _NOT_IN_KEY}
    digest = hashlib.sha256()
    if tenant is not None:  # a JSON array before the JSON objects below: no global key collides
        digest.update(orjson.dumps(["tenant", tenant]))
    digest.update(_identity(config))
    digest.update(orjson.dumps(semantic, option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()


# A cached body is ChatCompletion.model_dump_json(): it starts with id, object, created (field order).
_HEAD = re.compile(rb'^\{"id":"[^"]*","object":"chat\.completion","created":\d+,')
_USAGE = re.compile(rb'"usage":\{"prompt_tokens":(\d+),"completion_tokens":(\d+)')


@dataclass(frozen=True)
class CachedBody:
    json: bytes  # the chat.completion body, with a fresh id and created
    prompt_tokens: int
    completion_tokens: int


def refreshed(text: bytes, completion_id: str, created: int) -> CachedBody:
    """A cached body with a new id and ``created``, patched in place (no parse) when it has the shape
    Jurist writes; parsed and re-serialised otherwise."""
    head = b'{"id":"%s","object":"chat.completion","created":%d,' % (completion_id.encode(), created)
    patched, n = _HEAD.subn(head, text, count=1)
    usage = _USAGE.search(patched) if n else None
    if usage is not None:
        return CachedBody(patched, int(usage.group(1)), int(usage.group(2)))
    body = orjson.loads(text)
    body["id"], body["created"] = completion_id, created
    tokens = body.get("usage") or {}
    return CachedBody(
        orjson.dumps(body), int(tokens.get("prompt_tokens") or 0), int(tokens.get("completion_tokens") or 0)
    )
