"""Gateway variants over the same handlers: ``/api/v1/llm/{files,batches}`` (mka1 style, plain
OpenAI bodies) and ``/api/v1/batches`` wrapped in Alibaba's ``{success, code, message, data}``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response

from jurist.errors import JuristError

Handler = Callable[[Request], Awaitable[Response]]


def enveloped(handler: Handler) -> Handler:
    """Wrap a JSON handler's answer (and its errors) as ``{success, code, message, data}``."""

    async def wrapped(request: Request) -> Response:
        try:
            inner = await handler(request)
        except JuristError as exc:
            body = {"success": False, "code": str(exc.status_code), "message": exc.message, "data": None,
                    "error": exc.to_envelope()["error"]}  # fmt: skip
            return Response(orjson.dumps(body), status_code=exc.status_code, media_type="application/json")
        data = orjson.loads(bytes(inner.body)) if inner.body else None
        body = {"success": True, "code": str(inner.status_code), "message": "successful", "data": data}
        return Response(orjson.dumps(body), status_code=inner.status_code, media_type="application/json")

    return wrapped
