"""The Starlette application. Starlette rather than FastAPI on the hot path: FastAPI's dependency
resolution and JSONResponse double the per-request CPU of a passthrough (see docs/benchmarks.md)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute, Route

from jurist.api import evals_experiments as experiments
from jurist.api import graders
from jurist.api.admin import (
    create_key,
    list_keys,
    list_tenants,
    retrieve_key,
    retrieve_tenant,
    revoke_key,
    update_tenant,
)
from jurist.api.batch_compare import compare_batches
from jurist.api.batches import batch_report, cancel_batch, create_batch, list_batches, retrieve_batch
from jurist.api.calibrations import create_calibration, list_calibrations, retrieve_calibration
from jurist.api.chat import create_chat_completion
from jurist.api.console import console_routes
from jurist.api.console.report_frame import ReportPages
from jurist.api.console.review_index import ReviewIndexes
from jurist.api.console.templating import ConsolePages
from jurist.api.errors import handle_client_disconnect, handle_http_exception, handle_jurist_error
from jurist.api.evals import (
    cancel_run,
    compare_runs,
    create_eval,
    create_run,
    delete_eval,
    delete_run,
    list_evals,
    list_output_items,
    list_runs,
    retrieve_eval,
    retrieve_output_item,
    retrieve_run,
    update_eval,
)
from jurist.api.files import create_file, delete_file, file_content, list_files, retrieve_file
from jurist.api.labels import batch_agreement, delete_label, list_labels, post_labels
from jurist.api.middleware import RequestIdMiddleware
from jurist.api.models import healthz, list_models, metrics, readyz, retrieve_model
from jurist.api.openapi import build_openapi, openapi
from jurist.api.read_timeouts import KEEP_ALIVE, READ_TIMEOUT, protocol_class
from jurist.api.usage import admin_usage, own_usage
from jurist.api.variants import enveloped
from jurist.composition import Services
from jurist.errors import JuristError


def create_app(services: Services) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.start()
        try:
            yield
        finally:
            await services.aclose()

    routes: list[BaseRoute] = [
        Route("/v1/chat/completions", create_chat_completion, methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", retrieve_model, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/v1/batches/compare", compare_batches, methods=["GET"]),  # before /v1/batches/{batch_id}
        Route("/v1/batches/{batch_id}/report", batch_report, methods=["GET"]),
        Route("/v1/batches/{batch_id}/labels", post_labels, methods=["POST"]),
        Route("/v1/batches/{batch_id}/agreement", batch_agreement, methods=["GET"]),
        Route("/v1/batches/{batch_id}/labels", list_labels, methods=["GET"]),
        # :path: a custom_id may hold "/" (sent as is or as %2F)
        Route("/v1/batches/{batch_id}/labels/{custom_id:path}", delete_label, methods=["DELETE"]),
        Route("/v1/evals", create_eval, methods=["POST"]),
        Route("/v1/evals", list_evals, methods=["GET"]),
        Route("/v1/evals/{eval_id}", retrieve_eval, methods=["GET"]),
        Route("/v1/evals/{eval_id}", update_eval, methods=["POST"]),
        Route("/v1/evals/{eval_id}", delete_eval, methods=["DELETE"]),
        Route("/v1/evals/{eval_id}/runs", create_run, methods=["POST"]),
        Route("/v1/evals/{eval_id}/runs", list_runs, methods=["GET"]),
        Route("/v1/evals/{eval_id}/runs/compare", compare_runs, methods=["GET"]),
        Route("/v1/evals/{eval_id}/runs/head_to_head", experiments.create_head_to_head, methods=["POST"]),
        Route("/v1/evals/{eval_id}/runs/{run_id}/head_to_head", experiments.head_to_head, methods=["GET"]),
        Route("/v1/evals/{eval_id}/leaderboard", experiments.leaderboard, methods=["GET"]),
        Route("/v1/evals/{eval_id}/runs/{run_id}", retrieve_run, methods=["GET"]),
        Route("/v1/evals/{eval_id}/runs/{run_id}", cancel_run, methods=["POST"]),
        Route("/v1/evals/{eval_id}/runs/{run_id}/cancel", cancel_run, methods=["POST"]),
        Route("/v1/evals/{eval_id}/runs/{run_id}", delete_run, methods=["DELETE"]),
        Route("/v1/evals/{eval_id}/runs/{run_id}/output_items", list_output_items, methods=["GET"]),
        Route(
            "/v1/evals/{eval_id}/runs/{run_id}/output_items/{output_item_id}",
            retrieve_output_item,
            methods=["GET"],
        ),
        Route("/v1/fine_tuning/alpha/graders/run", graders.run, methods=["POST"]),
        Route("/v1/fine_tuning/alpha/graders/validate", graders.validate, methods=["POST"]),
        Route("/v1/calibrations", create_calibration, methods=["POST"]),
        Route("/v1/calibrations", list_calibrations, methods=["GET"]),
        Route("/v1/calibrations/{calibration_id}", retrieve_calibration, methods=["GET"]),
        Route("/v1/usage", own_usage, methods=["GET"]),
        Route("/v1/admin/usage", admin_usage, methods=["GET"]),
        # the admin key's: tenants' keys, limits and weights
        Route("/v1/admin/keys", create_key, methods=["POST"]),
        Route("/v1/admin/keys", list_keys, methods=["GET"]),
        Route("/v1/admin/keys/{key_id}", retrieve_key, methods=["GET"]),
        Route("/v1/admin/keys/{key_id}", revoke_key, methods=["DELETE"]),
        Route("/v1/admin/tenants", list_tenants, methods=["GET"]),
        Route("/v1/admin/tenants/{tenant}", retrieve_tenant, methods=["GET"]),
        Route("/v1/admin/tenants/{tenant}", update_tenant, methods=["POST"]),
    ]
    # Files and batches: OpenAI's paths, the mka1 gateway's aliases, and Alibaba's wrapped variant.
    for prefix in ("/v1", "/api/v1/llm"):
        routes += [
            Route(f"{prefix}/files", create_file, methods=["POST"]),
            Route(f"{prefix}/files", list_files, methods=["GET"]),
            Route(f"{prefix}/files/{{file_id}}", retrieve_file, methods=["GET"]),
            Route(f"{prefix}/files/{{file_id}}", delete_file, methods=["DELETE"]),
            Route(f"{prefix}/files/{{file_id}}/content", file_content, methods=["GET"]),
            Route(f"{prefix}/batches", create_batch, methods=["POST"]),
            Route(f"{prefix}/batches", list_batches, methods=["GET"]),
            Route(f"{prefix}/batches/{{batch_id}}", retrieve_batch, methods=["GET"]),
            Route(f"{prefix}/batches/{{batch_id}}/cancel", cancel_batch, methods=["POST"]),
        ]
    routes += [
        Route("/api/v1/batches", enveloped(create_batch), methods=["POST"]),
        Route("/api/v1/batches", enveloped(list_batches), methods=["GET"]),
        Route("/api/v1/batches/{batch_id}", enveloped(retrieve_batch), methods=["GET"]),
        Route("/api/v1/batches/{batch_id}/cancel", enveloped(cancel_batch), methods=["POST"]),
    ]
    if services.settings.console:
        routes += console_routes()  # last: the API's routes are matched first
    # RequestIdMiddleware is the outermost user middleware, so it also turns unexpected exceptions
    # into an enveloped 500 that carries the request id.
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestIdMiddleware)],
        exception_handlers={
            JuristError: handle_jurist_error,
            HTTPException: handle_http_exception,
            ClientDisconnect: handle_client_disconnect,
        },
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.started_at = int(time.time())
    app.state.openapi = build_openapi()
    app.state.console = ConsolePages()
    app.state.console_reports = ReportPages()  # the framed reports kept (report_frame)
    app.state.review_indexes = ReviewIndexes()  # the review pages' per-batch indexes
    return app


def server_options(read_timeout: float = READ_TIMEOUT, keep_alive: int = KEEP_ALIVE) -> dict[str, Any]:
    """uvicorn's options for serving the app (``jurist serve``, and the tests' live servers): the
    request read timeouts (``read_timeouts``: headers within ``read_timeout`` seconds, no pause longer
    than that within a body) and the idle keep-alive timeout."""
    return {"http": protocol_class(read_timeout), "timeout_keep_alive": keep_alive}
