"""/v1/batches: create, list, retrieve, cancel, report."""

from __future__ import annotations

import asyncio

import orjson
from starlette.requests import Request
from starlette.responses import Response

from jurist.api.deps import json_object_body, services_of, tenant_of
from jurist.api.params import choice_param, int_param

_JSON = "application/json"


def _json(data: object) -> Response:
    return Response(orjson.dumps(data), media_type=_JSON)


async def create_batch(request: Request) -> Response:
    """The body is read as JSON whatever its Content-Type (the seed's curl sends none)."""
    services = services_of(request)
    tenant = await tenant_of(request)
    body = await json_object_body(request, services.settings.max_request_bytes)
    key = (request.headers.get("idempotency-key") or "").strip()[:256] or None
    record = await services.batches.create(tenant.id, body, key, tenant.policy)
    return _json(services.batches.wire(record))


async def list_batches(request: Request) -> Response:
    services = services_of(request)
    listing = await services.batches.list(
        (await tenant_of(request)).id,
        after=request.query_params.get("after") or None,
        limit=int_param(request, "limit", 20, 1, 100),
    )
    return Response(listing.model_dump_json(), media_type=_JSON)


async def retrieve_batch(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    record = await services.batches.get(tenant, request.path_params["batch_id"])
    return _json(services.batches.wire(record))


async def cancel_batch(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    record = await services.batches.cancel(tenant, request.path_params["batch_id"])
    return _json(services.batches.wire(record))


async def batch_report(request: Request) -> Response:
    """The batch's report as JSON, or (``?format=html``) as a self-contained HTML page."""
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    fmt = choice_param(request, "format", "json", ("json", "html"))
    rounds = int_param(request, "bootstrap", 1000, 1, 10000)
    seed = int_param(request, "seed", 0, 0, 2**32 - 1)
    report = await services.reports.report(tenant, request.path_params["batch_id"], rounds, seed)
    if fmt == "json":
        return _json(report.model_dump(mode="json"))
    from jurist.evaluation.report_html import render_html

    page = await asyncio.to_thread(
        render_html, report, f"Jurist batch report: {request.path_params['batch_id']}"
    )
    return Response(page, media_type="text/html; charset=utf-8")
