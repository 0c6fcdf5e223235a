"""The Starlette application. Starlette rather than FastAPI on the hot path: FastAPI's dependency
resolution and JSONResponse double the per-request CPU of a passthrough (see docs/benchmarks.md)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Route

from jurist.api.chat import create_chat_completion
from jurist.api.errors import handle_http_exception, handle_jurist_error
from jurist.api.middleware import RequestIdMiddleware
from jurist.api.models import healthz, list_models, retrieve_model
from jurist.errors import JuristError
from jurist.service.container import Services


def create_app(services: Services) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.start()
        try:
            yield
        finally:
            await services.aclose()

    routes = [
        Route("/v1/chat/completions", create_chat_completion, methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", retrieve_model, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    # RequestIdMiddleware is the outermost user middleware, so it also turns unexpected exceptions
    # into an enveloped 500 that carries the request id.
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestIdMiddleware)],
        exception_handlers={
            JuristError: handle_jurist_error,
            HTTPException: handle_http_exception,
        },
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.started_at = int(time.time())
    return app
