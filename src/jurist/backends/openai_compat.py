"""Any OpenAI-compatible upstream (vLLM, Ollama, llama.cpp server, OpenAI, DashScope) over one pooled
aiohttp session. Upstream failures become clean errors: 429 stays 429 (with its Retry-After),
5xx becomes 502, a timeout 504, an unreachable host 502."""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator

import aiohttp
import orjson

from jurist.backends.base import Generation, GenerationChunk, GenerationRequest
from jurist.errors import (
    BackendError,
    BackendRejected,
    BackendTimeout,
    BackendUnavailable,
    RateLimited,
)
from jurist.protocol.json_types import JSONObject
from jurist.settings import OpenAIModelConfig

_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _upstream_message(body: bytes) -> str:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:300].decode("utf-8", "replace").strip()
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        return str(error.get("message") or error)[:300]
    return str(error)[:300]


class OpenAIBackend:
    """A judge model served by an OpenAI-compatible HTTP endpoint."""

    def __init__(self, alias: str, config: OpenAIModelConfig) -> None:
        self._alias = alias
        self._config = config
        self._url = config.base_url.rstrip("/") + "/chat/completions"
        self._model = config.model or alias
        self._headers = dict(_JSON_HEADERS)
        key = config.resolved_api_key()
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        self._session: aiohttp.ClientSession | None = None

    @property
    def description(self) -> str:
        return f"openai-compatible upstream {self._config.base_url} (model {self._model})"

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._config.max_connections, ttl_dns_cache=300, keepalive_timeout=30
            )
            timeout = aiohttp.ClientTimeout(
                total=self._config.timeout, sock_connect=self._config.connect_timeout
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=timeout,
                json_serialize=lambda o: orjson.dumps(o).decode(),
            )

    async def ready(self) -> bool:
        """Any HTTP answer from the upstream's /models counts as reachable."""
        if self._session is None:
            return False
        url = self._url.rsplit("/chat/completions", 1)[0] + "/models"
        try:
            async with self._session.get(url, headers=self._headers, timeout=aiohttp.ClientTimeout(total=2)):
                return True
        except (TimeoutError, aiohttp.ClientError):
            return False

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def payload(self, request: GenerationRequest, stream: bool = False) -> JSONObject:
        body: JSONObject = dict(request.extra)
        body["model"] = self._model
        body["messages"] = [*request.messages]
        for key in (
            "max_tokens",
            "temperature",
            "top_p",
            "stop",
            "seed",
            "logprobs",
            "top_logprobs",
        ):
            value = getattr(request, key)
            if value is not None:
                body[key] = value
        if request.response_format is not None:
            fitted = self._fitted(request.response_format)
            if fitted is not None:
                body["response_format"] = fitted
        elif request.json_schema is not None:
            mode = self._config.structured_output
            if mode == "json_schema":
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "verdict",
                        "schema": request.json_schema,
                        "strict": True,
                    },
                }
            elif mode == "json_object":
                body["response_format"] = {"type": "json_object"}
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def _fitted(self, fmt: JSONObject) -> JSONObject | None:
        """A caller's ``response_format`` as this upstream takes it (``structured_output``): a JSON schema
        steps down to ``json_object`` for an upstream without schemas (llama-cpp-python's server answers
        500 to one), and JSON modes are left out for an upstream with none; other formats pass as they are."""
        kind, mode = fmt.get("type"), self._config.structured_output
        if kind == "json_schema" and mode == "json_object":
            return {"type": "json_object"}
        if kind in ("json_schema", "json_object") and mode == "none":
            return None
        return fmt

    def _session_or_fail(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise BackendUnavailable(f"backend for {self._alias!r} is not started")
        return self._session

    async def _raise_for(self, resp: aiohttp.ClientResponse) -> None:
        body = await resp.read()
        message = _upstream_message(body)
        status = resp.status
        if status == 429:
            raise RateLimited(
                f"upstream rate limit for model {self._alias!r}: {message}",
                retry_after=_retry_after(resp.headers.get("Retry-After")),
            )
        if status in (400, 413, 422):
            raise BackendRejected(f"upstream rejected the request ({status}): {message}")
        if status in (401, 403):
            raise BackendError(f"upstream refused Jurist's credentials ({status}); check api_key")
        if status == 404:
            raise BackendError(f"upstream answered 404 (is model/base_url right?): {message}")
        raise BackendError(f"upstream error {status}: {message}")

    async def generate(self, request: GenerationRequest) -> Generation:
        session = self._session_or_fail()
        data = orjson.dumps(self.payload(request))
        try:
            async with session.post(self._url, data=data, headers=self._headers) as resp:
                if resp.status != 200:
                    await self._raise_for(resp)
                raw = await resp.read()
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise BackendTimeout(f"upstream for model {self._alias!r} timed out") from exc
        except aiohttp.ClientError as exc:
            raise BackendUnavailable(f"upstream for model {self._alias!r} failed: {exc}") from exc
        return self._parse(raw)

    def _parse(self, raw: bytes) -> Generation:
        try:
            data = orjson.loads(raw)
            choice = data["choices"][0]
            message = choice.get("message") or {}
            usage = data.get("usage") or {}
            return Generation(
                text=message.get("content") or "",
                finish_reason=choice.get("finish_reason") or "stop",
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                logprobs=choice.get("logprobs"),
            )
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise BackendError(f"upstream returned an unreadable completion: {exc}") from exc

    async def stream(self, request: GenerationRequest) -> AsyncIterator[GenerationChunk]:
        session = self._session_or_fail()
        data = orjson.dumps(self.payload(request, stream=True))
        headers = {**self._headers, "Accept": "text/event-stream"}
        try:
            async with session.post(self._url, data=data, headers=headers) as resp:
                if resp.status != 200:
                    await self._raise_for(resp)
                if not resp.headers.get("Content-Type", "").startswith("text/event-stream"):
                    generation = self._parse(await resp.read())
                    yield GenerationChunk(text=generation.text)
                    yield GenerationChunk(
                        finish_reason=generation.finish_reason,
                        prompt_tokens=generation.prompt_tokens,
                        completion_tokens=generation.completion_tokens,
                    )
                    return
                async for chunk in self._read_events(resp):
                    yield chunk
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise BackendTimeout(f"upstream for model {self._alias!r} timed out") from exc
        except aiohttp.ClientError as exc:
            raise BackendUnavailable(f"upstream for model {self._alias!r} failed: {exc}") from exc

    async def _read_events(self, resp: aiohttp.ClientResponse) -> AsyncIterator[GenerationChunk]:
        finish: str | None = None
        usage: dict[str, object] = {}
        async for line in resp.content:
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if payload == b"[DONE]":
                break
            try:
                event = orjson.loads(payload)
            except orjson.JSONDecodeError:
                continue
            usage = event.get("usage") or usage
            for choice in event.get("choices") or []:
                text = (choice.get("delta") or {}).get("content")
                finish = choice.get("finish_reason") or finish
                if text:
                    yield GenerationChunk(text=text)
        yield GenerationChunk(
            finish_reason=finish or "stop",
            prompt_tokens=_count(usage.get("prompt_tokens")),
            completion_tokens=_count(usage.get("completion_tokens")),
        )


def _count(value: object) -> int:
    """A token count from an upstream's usage object (0 when absent or not a number)."""
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
