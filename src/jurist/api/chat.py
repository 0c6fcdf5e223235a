"""POST /v1/chat/completions (JSON or SSE)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from jurist.api.deps import json_object_body, services_of, tenant_of
from jurist.errors import InvalidRequest, JuristError
from jurist.protocol.chat import ChatCompletionChunk, ChatCompletionRequest
from jurist.service.validation import first_error

_JSON = "application/json"
_DONE = b"data: [DONE]\n\n"


async def create_chat_completion(request: Request) -> Response:
    services = services_of(request)
    tenant_of(request)
    raw = await json_object_body(request, services.settings.max_request_bytes)
    try:
        body = ChatCompletionRequest.model_validate(raw)
    except ValidationError as exc:
        message, param = first_error(exc)
        raise InvalidRequest(message, param=param) from exc
    kind = (
        "judge"
        if any(isinstance(m.content, list) and any(p.mode for p in m.content) for m in body.messages)
        else "custom"
    )
    services.metrics.chat.labels(body.model if body.model in services.chat.models else "unknown", kind).inc()
    if body.stream:
        chunks = services.chat.open_stream(body, raw)
        return StreamingResponse(
            _sse(chunks),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    completion = await services.chat.complete(body, raw)
    headers = {"x-jurist-cache": completion.cache_status} if completion.cache_status else None
    return Response(completion.model_dump_json(), media_type=_JSON, headers=headers)


async def _sse(chunks: AsyncIterator[ChatCompletionChunk]) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield b"data: " + chunk.model_dump_json(exclude_none=True).encode() + b"\n\n"
    except JuristError as exc:  # headers are gone: the error travels as an SSE event
        yield b"data: " + orjson.dumps(exc.to_envelope()) + b"\n\n"
    yield _DONE
