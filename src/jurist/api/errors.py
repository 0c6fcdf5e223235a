"""The one place where exceptions become OpenAI error envelopes."""

from __future__ import annotations

import logging
import math

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from jurist.api.console.session import console_user, error_page
from jurist.errors import (
    BackendError,
    InvalidRequest,
    JuristError,
    MethodNotAllowed,
    ModelUnavailable,
    NotFound,
    RateLimited,
    TenantLimitExceeded,
    UpstreamPaused,
)

log = logging.getLogger("jurist.api")


def envelope_response(error: JuristError, headers: dict[str, str] | None = None) -> Response:
    headers = dict(headers or {})
    if isinstance(error, RateLimited):
        headers.update(error.headers)
    if isinstance(error, (RateLimited, UpstreamPaused, ModelUnavailable)):
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after or 1)))
        if error.retry_after is not None:  # the official SDKs prefer it: the wait to the millisecond
            headers["retry-after-ms"] = str(max(1, math.ceil(error.retry_after * 1000)))
    return Response(
        orjson.dumps(error.to_envelope()),
        status_code=error.status_code,
        media_type="application/json",
        headers=headers,
    )


async def handle_jurist_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, JuristError)
    if isinstance(exc, (BackendError, RateLimited)) and not isinstance(exc, TenantLimitExceeded):
        services = getattr(request.app.state, "services", None)
        if services is not None:
            services.metrics.upstream_errors.labels(exc.code or exc.type).inc()
    if exc.status_code >= 500:
        log.warning("%s %s -> %s: %s", request.method, request.url.path, exc.status_code, exc)
    return envelope_response(exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error: JuristError
    services = getattr(request.app.state, "services", None)
    console = services is not None and services.settings.console
    if exc.status_code == 404 and console and request.url.path.startswith("/console/"):
        # the console's pages answer in HTML, with the signed-in user's navigation
        request.state.console_user = await console_user(request)
        return error_page(request, NotFound(f"There is no page at {request.url.path}."))
    if exc.status_code == 404:
        error = NotFound(f"Unknown route: {request.method} {request.url.path}")
    elif exc.status_code == 405:
        error = MethodNotAllowed(f"Method {request.method} is not allowed on {request.url.path}")
    elif 400 <= exc.status_code < 500:  # the client's fault (e.g. starlette's 400 for a malformed form)
        error = InvalidRequest(str(exc.detail), status_code=exc.status_code)
    else:
        error = JuristError(str(exc.detail), status_code=exc.status_code)
    return envelope_response(error, dict(exc.headers or {}))


async def handle_client_disconnect(request: Request, exc: Exception) -> Response:
    """The client went away while its body was read (starlette's ``ClientDisconnect``): not a server
    fault, logged quietly without a traceback; the 400 is never delivered."""
    log.info("%s %s: the client disconnected mid-body", request.method, request.url.path)
    return envelope_response(InvalidRequest("The client disconnected before the request body was complete."))
