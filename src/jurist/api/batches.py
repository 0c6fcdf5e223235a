"""/v1/batches: create, list, retrieve, cancel."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from jurist.api.deps import json_object_body, services_of, tenant_of
from jurist.api.params import int_param

_JSON = "application/json"


def _json(data: object) -> Response:
    return Response(orjson.dumps(data), media_type=_JSON)


async def create_batch(request: Request) -> Response:
    """The body is read as JSON whatever its Content-Type (the seed's curl sends none)."""
    services = services_of(request)
    tenant = tenant_of(request).id
    body = await json_object_body(request, services.settings.max_request_bytes)
    key = (request.headers.get("idempotency-key") or "").strip()[:256] or None
    record = await services.batches.create(tenant, body, key)
    return _json(services.batches.wire(record))


async def list_batches(request: Request) -> Response:
    services = services_of(request)
    listing = await services.batches.list(
        tenant_of(request).id,
        after=request.query_params.get("after") or None,
        limit=int_param(request, "limit", 20, 1, 100),
    )
    return Response(listing.model_dump_json(), media_type=_JSON)


async def retrieve_batch(request: Request) -> Response:
    services = services_of(request)
    record = await services.batches.get(tenant_of(request).id, request.path_params["batch_id"])
    return _json(services.batches.wire(record))


async def cancel_batch(request: Request) -> Response:
    services = services_of(request)
    record = await services.batches.cancel(tenant_of(request).id, request.path_params["batch_id"])
    return _json(services.batches.wire(record))
