"""POST /v1/chat/completions (JSON or SSE)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from jurist.api.deps import json_object_body, services_of, tenant_of
from jurist.errors import JuristError
from jurist.protocol.chat import ChatCompletionChunk
from jurist.service.requests import parse_chat_request
from jurist.store.usage import completion_usage

_JSON = "application/json"
_DONE = b"data: [DONE]\n\n"


async def create_chat_completion(request: Request) -> Response:
    services = services_of(request)
    tenant = await tenant_of(request)
    raw = await json_object_body(request, services.settings.max_request_bytes)
    body = parse_chat_request(raw)
    kind = "custom" if body.judge is None else "judge"
    services.metrics.chat.labels(body.model if body.model in services.chat.models else "unknown", kind).inc()
    usage = services.usage
    if body.stream:
        chunks = services.chat.open_stream(body, lambda used: usage.record(tenant.id, body.model, used))
        return StreamingResponse(
            _sse(chunks),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    completion = await services.chat.complete(body)
    usage.record(tenant.id, body.model, completion_usage(completion, requests=1))
    headers = {"x-jurist-cache": completion.cache_status} if completion.cache_status else None
    return Response(completion.model_dump_json(), media_type=_JSON, headers=headers)


async def _sse(chunks: AsyncIterator[ChatCompletionChunk]) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield b"data: " + _chunk_json(chunk) + b"\n\n"
    except JuristError as exc:  # headers are gone: the error travels as an SSE event
        yield b"data: " + orjson.dumps(exc.to_envelope()) + b"\n\n"
    yield _DONE


def _chunk_json(chunk: ChatCompletionChunk) -> bytes:
    """A chunk without its unset (null) fields, as OpenAI sends them; the judgment, on the last
    content chunk, keeps its own nulls (a criterion scored N/A is ``null``, not missing)."""
    if chunk.judgment is None:
        return chunk.model_dump_json(exclude_none=True).encode()
    head = chunk.model_dump_json(exclude_none=True, exclude={"judgment"}).encode()
    return head[:-1] + b',"judgment":' + chunk.judgment.model_dump_json().encode() + b"}"
