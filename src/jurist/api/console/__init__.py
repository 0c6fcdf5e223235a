"""The web console, served by ``jurist serve`` under ``/console`` (``/`` redirects there): server-rendered
pages over the same services and tenant rules as the API, a little script from ``static/``, nothing from
a CDN. Each page module lists its routes in ``ROUTES``; ``console_routes`` gathers them."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from jurist.api.console import review, sign_in


def console_routes() -> list[BaseRoute]:
    """``/`` and the ``/console`` mount (after every API route: the API's paths are matched first)."""
    pages: list[BaseRoute] = [
        Route("/", sign_in.home, methods=["GET"]),
        Route("/sign-in", sign_in.sign_in_form, methods=["GET"]),
        Route("/sign-in", sign_in.sign_in, methods=["POST"]),
        Route("/sign-out", sign_in.sign_out, methods=["POST"]),
        Route("/batches/{batch_id}/review", review.review, methods=["GET"]),
        Route("/batches/{batch_id}/review/labels", review.post_label, methods=["POST"]),
        Route("/batches/{batch_id}/review/agreement", review.agreement, methods=["GET"]),
        Mount("/static", StaticFiles(packages=[("jurist.api.console", "static")]), name="static"),
    ]
    return [Route("/", sign_in.root, methods=["GET"]), Mount("/console", routes=pages)]
