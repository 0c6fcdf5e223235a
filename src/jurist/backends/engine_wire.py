"""The wire between the server and the embedded model's own process (``llama_process`` ↔ ``llama_worker``):
length-prefixed orjson frames over a Unix socket pair.

Server → model process:
    {"op": "load", "config": {...}, "model_path": str, "extra_bufts": bool}   first frame, once
    {"op": "generate", "id": int, "stream": bool, "request": {...GenerationRequest}}
    {"op": "cancel", "id": int}                                                the caller gave up
Model process → server:
    {"op": "ready", "info": {...}}        loaded, self-test passed (or {"op": "failed", "error": ...})
    {"id": int, "piece": str}             a streamed piece of text
    {"id": int, "result": {...Generation}, "stats": {...}}
    {"id": int, "error": {...}, "stats": {...}}
``stats`` are the engine's prompt-token counts since the process started (``PromptTokenSource``).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Mapping
from typing import Any, TypedDict

import orjson

from jurist.backends.base import Generation, GenerationRequest
from jurist.errors import (
    BackendError,
    BackendRejected,
    BackendTimeout,
    ConfigError,
    InvalidRequest,
    JuristError,
)
from jurist.protocol.json_types import JSONObject

HEADER = struct.Struct(">I")
MAX_FRAME = 256 << 20  # a frame larger than this is a broken peer, not a message

_ERRORS: dict[str, type[JuristError]] = {
    cls.__name__: cls for cls in (BackendError, BackendRejected, BackendTimeout, ConfigError, InvalidRequest)
}


class WireError(Exception):
    """The peer sent something that is not a frame of this protocol."""


def frame(message: Mapping[str, Any]) -> bytes:
    body = orjson.dumps(message)
    return HEADER.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> JSONObject | None:
    """The next frame, or None at the end of the stream (the peer closed it or died)."""
    try:
        head = await reader.readexactly(HEADER.size)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    (size,) = HEADER.unpack(head)
    if size > MAX_FRAME:
        raise WireError(f"a frame of {size} bytes")
    try:
        body = await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    message = orjson.loads(body)
    if not isinstance(message, dict):
        raise WireError("a frame that is not an object")
    return message


class RequestWire(TypedDict):
    """A ``GenerationRequest`` on the wire: its fields, each as JSON."""

    messages: list[JSONObject]
    max_tokens: int | None
    temperature: float | None
    top_p: float | None
    stop: str | list[str] | None
    seed: int | None
    json_schema: JSONObject | None
    response_format: JSONObject | None
    logprobs: bool | None
    top_logprobs: int | None
    extra: JSONObject


def request_to_wire(request: GenerationRequest) -> RequestWire:
    return {
        "messages": request.messages,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stop": request.stop,
        "seed": request.seed,
        "json_schema": request.json_schema,
        "response_format": request.response_format,
        "logprobs": request.logprobs,
        "top_logprobs": request.top_logprobs,
        "extra": request.extra,
    }


def request_from_wire(data: JSONObject) -> GenerationRequest:
    fields: dict[str, Any] = dict(data)
    return GenerationRequest(**fields)


def generation_to_wire(generation: Generation) -> JSONObject:
    return {
        "text": generation.text,
        "finish_reason": generation.finish_reason,
        "prompt_tokens": generation.prompt_tokens,
        "completion_tokens": generation.completion_tokens,
        "logprobs": generation.logprobs,
    }


def generation_from_wire(data: JSONObject) -> Generation:
    logprobs = data.get("logprobs")
    return Generation(
        text=str(data.get("text", "")),
        finish_reason=str(data.get("finish_reason") or "stop"),
        prompt_tokens=int(data.get("prompt_tokens") or 0),  # type: ignore[arg-type]
        completion_tokens=int(data.get("completion_tokens") or 0),  # type: ignore[arg-type]
        logprobs=logprobs if isinstance(logprobs, dict) else None,
    )


def error_to_wire(error: BaseException) -> JSONObject:
    if isinstance(error, JuristError):
        kind = next((c.__name__ for c in type(error).__mro__ if c.__name__ in _ERRORS), "BackendError")
        return {"type": kind, "message": error.message, "code": error.code, "param": error.param}
    return {"type": "BackendError", "message": f"the embedded model failed: {error!r}", "code": None}


def error_from_wire(data: JSONObject) -> JuristError:
    cls = _ERRORS.get(str(data.get("type")), BackendError)
    code, param = data.get("code"), data.get("param")
    return cls(
        str(data.get("message") or ""),
        code=code if isinstance(code, str) else None,
        param=param if isinstance(param, str) else None,
    )
