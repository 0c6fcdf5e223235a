"""Pure-ASGI middleware (cheaper than Starlette's BaseHTTPMiddleware): every response carries
``x-request-id`` and ``x-content-type-options: nosniff`` (API JSON, console pages and JSON, static
files, errors: no browser guesses another type from the bytes), and an unexpected exception becomes a
500 in the OpenAI envelope (logged, with its request id) instead of Starlette's plain-text page."""

from __future__ import annotations

import logging
import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jurist.errors import JuristError
from jurist.ids import request_id

log = logging.getLogger("jurist.api")

_NOSNIFF_NAME = b"x-content-type-options"
_NOSNIFF = (_NOSNIFF_NAME, b"nosniff")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id()
        scope.setdefault("state", {})["request_id"] = rid
        header = (b"x-request-id", rid.encode())
        began = time.perf_counter()
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", ()))
                headers.append(header)
                # Starlette's header names are lower-case; a page that already says nosniff says it once
                if not any(name == _NOSNIFF_NAME for name, _ in headers):
                    headers.append(_NOSNIFF)
                message["headers"] = headers
                _observe(scope, message["status"], began)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error in request %s %s (%s)", scope["method"], scope["path"], rid)
            if started:
                raise
            body = orjson.dumps(
                JuristError("The server had an error while processing your request.").to_envelope()
            )
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body})


def _observe(scope: Scope, status: int, began: float) -> None:
    """Requests and latency by route (the endpoint's name, so ids never become labels)."""
    app = scope.get("app")
    services = getattr(getattr(app, "state", None), "services", None)
    if services is None:
        return
    endpoint = scope.get("endpoint")
    route = getattr(endpoint, "__name__", None) or "unmatched"
    metrics = services.metrics
    metrics.requests.labels(route, scope["method"], str(status)).inc()
    metrics.latency.labels(route).observe(time.perf_counter() - began)
