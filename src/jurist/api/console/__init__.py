"""The web console, served by ``jurist serve`` under ``/console`` (``/`` redirects there): server-rendered
pages over the same services and tenant rules as the API, a little script from ``static/``, nothing from
a CDN. Each page module lists its routes in ``ROUTES``; ``console_routes`` gathers them."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from jurist.api.console import (
    api_page,
    batch_page,
    batches,
    compare_page,
    evals_pages,
    leaderboard_page,
    models_page,
    playground,
    report_frame,
    review,
    sign_in,
    usage_page,
)


def console_routes() -> list[BaseRoute]:
    """``/`` and the ``/console`` mount (after every API route: the API's paths are matched first)."""
    pages: list[BaseRoute] = [
        Route("/", sign_in.home, methods=["GET"]),
        Route("/sign-in", sign_in.sign_in_form, methods=["GET"]),
        Route("/sign-in", sign_in.sign_in, methods=["POST"]),
        Route("/sign-out", sign_in.sign_out, methods=["POST"]),
        Route("/models", models_page.models, methods=["GET"]),
        Route("/usage", usage_page.usage, methods=["GET"]),
        Route("/api", api_page.api_reference, methods=["GET"]),
        *playground.ROUTES,
        Route("/batches", batches.batches_page, methods=["GET"]),
        Route("/batches", batches.create_batch, methods=["POST"]),
        Route("/batches/progress", batches.batches_progress, methods=["GET"]),
        Route("/batches/{batch_id}", batch_page.batch_page, methods=["GET"]),
        Route("/batches/{batch_id}/cancel", batch_page.cancel_batch, methods=["POST"]),
        Route("/batches/{batch_id}/report", report_frame.report_page, methods=["GET"]),
        *evals_pages.ROUTES,
        *compare_page.ROUTES,
        *leaderboard_page.ROUTES,
        Route("/files/{file_id}/content", batch_page.file_content, methods=["GET"]),
        Route("/batches/{batch_id}/review", review.review, methods=["GET"]),
        Route("/batches/{batch_id}/review/labels", review.post_label, methods=["POST"]),
        Route("/batches/{batch_id}/review/agreement", review.agreement, methods=["GET"]),
        Mount("/static", StaticFiles(packages=[("jurist.api.console", "static")]), name="static"),
    ]
    return [Route("/", sign_in.root, methods=["GET"]), Mount("/console", routes=pages)]
