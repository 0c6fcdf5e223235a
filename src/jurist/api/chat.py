"""POST /v1/chat/completions (JSON or SSE)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from jurist.api.deps import json_object_body, services_of, tenant_of
from jurist.api.errors import handle_jurist_error
from jurist.composition import Services
from jurist.errors import JuristError
from jurist.protocol.chat import ChatCompletionChunk
from jurist.service.judging.requests import parse_chat_request
from jurist.service.tenancy.auth import Tenant
from jurist.service.tenancy.limits import Admission
from jurist.store.usage import UsageCounts

_JSON = "application/json"
_DONE = b"data: [DONE]\n\n"


async def create_chat_completion(request: Request) -> Response:
    """A tenant with rate limits takes its request before the completion runs, is charged its
    tokens after, and gets OpenAI's ``x-ratelimit-*`` headers on every response (errors too)."""
    services = services_of(request)
    tenant = await tenant_of(request)
    policy, limiter = tenant.policy, services.limiter
    if limiter is None or (policy.rpm is None and policy.tpm is None):
        return await _respond(request, services, tenant, None)  # no rate limits: no database call
    admission = await limiter.admit(tenant.account, policy)
    if admission is None:
        return await _respond(request, services, tenant, None)
    try:
        response = await _respond(request, services, tenant, admission)
    except JuristError as exc:
        response = await handle_jurist_error(request, exc)
    response.headers.update(admission.headers())
    return response


async def _respond(
    request: Request, services: Services, tenant: Tenant, admission: Admission | None
) -> Response:
    raw = await json_object_body(request, services.settings.max_request_bytes)
    body = parse_chat_request(raw)
    kind = "custom" if body.judge is None else "judge"
    services.metrics.chat.labels(body.model if body.model in services.chat.models else "unknown", kind).inc()
    usage = services.usage
    if body.stream:
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        used: list[UsageCounts] = []

        def record(counts: UsageCounts) -> None:
            usage.record(tenant.id, body.model, counts)
            used.append(counts)

        await services.chat.require_target(body, tenant.id)  # an unsupported target: a 400, not an SSE error
        chunks = await _primed(services.chat.open_stream(body, record, tenant.id))
        settle = None if admission is None else _settle(services, admission, used)
        return StreamingResponse(_sse(chunks, settle), media_type="text/event-stream", headers=headers)
    completion = await services.chat.complete(body, tenant.id)
    status = completion.cache_status
    usage.record_completion(tenant.id, body.model, completion, hit=status == "hit")
    if admission is not None and services.limiter is not None:
        await services.limiter.charge(admission, completion.usage.total_tokens)
    cache = {"x-jurist-cache": status} if status else None
    return Response(completion.model_dump_json(), media_type=_JSON, headers=cache)


async def _primed(chunks: AsyncIterator[ChatCompletionChunk]) -> AsyncIterator[ChatCompletionChunk]:
    """The stream once its first content (or its end) has come. A failure before then (the model
    unavailable, its process dead, a rejected prompt) is a plain error response with its status and
    ``Retry-After``; only a failure after content has been sent travels as an SSE error event."""
    head: list[ChatCompletionChunk] = []
    async for chunk in chunks:
        head.append(chunk)
        if (
            chunk.judgment is not None
            or chunk.usage is not None
            or any(c.delta.content or c.finish_reason for c in chunk.choices)
        ):
            break

    async def rest() -> AsyncIterator[ChatCompletionChunk]:
        for chunk in head:
            yield chunk
        async for chunk in chunks:
            yield chunk

    return rest()


def _settle(
    services: Services, admission: Admission, used: list[UsageCounts]
) -> Callable[[], Awaitable[None]]:
    """Charge a stream's tokens when it ends (what it used, if it got that far)."""

    async def settle() -> None:
        if services.limiter is not None and used:
            counts = used[-1]
            await services.limiter.charge(admission, counts.prompt_tokens + counts.completion_tokens)

    return settle


async def _sse(
    chunks: AsyncIterator[ChatCompletionChunk], settle: Callable[[], Awaitable[None]] | None = None
) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield b"data: " + _chunk_json(chunk) + b"\n\n"
    except JuristError as exc:  # headers are gone: the error travels as an SSE event
        yield b"data: " + orjson.dumps(exc.to_envelope()) + b"\n\n"
    finally:
        if settle is not None:
            await settle()
    yield _DONE


def _chunk_json(chunk: ChatCompletionChunk) -> bytes:
    """A chunk without its unset (null) fields, as OpenAI sends them; the judgment, on the last
    content chunk, keeps its own nulls (a criterion scored N/A is ``null``, not missing)."""
    if chunk.judgment is None:
        return chunk.model_dump_json(exclude_none=True).encode()
    head = chunk.model_dump_json(exclude_none=True, exclude={"judgment"}).encode()
    return head[:-1] + b',"judgment":' + chunk.judgment.model_dump_json().encode() + b"}"
