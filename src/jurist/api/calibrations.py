"""/v1/calibrations: fit a calibration from labelled batches, list the tenant's, retrieve one."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from jurist.api.deps import json_object_body, services_of, tenant_of
from jurist.errors import InvalidRequest

_JSON = "application/json"
_MODES = ("single", "pairwise")


async def create_calibration(request: Request) -> Response:
    """``{"model": "pai-judge", "batches": ["batch_…"], "mode": "pairwise"}`` (mode only when the
    batches hold labelled lines of both modes)."""
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    body = await json_object_body(request, services.settings.max_request_bytes)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model must name the judge model to calibrate.", param="model")
    batches = body.get("batches")
    if not isinstance(batches, list) or not all(isinstance(b, str) and b for b in batches):
        raise InvalidRequest("batches must be a list of batch ids.", param="batches")
    mode = body.get("mode")
    if mode is not None and mode not in _MODES:
        raise InvalidRequest(f'mode must be "single" or "pairwise", not {mode!r}.', param="mode")
    unknown = sorted(set(body) - {"model", "batches", "mode"})
    if unknown:
        raise InvalidRequest(f"Unknown field {unknown[0]!r}.", param=unknown[0])
    record = await services.calibrations.create(tenant, model, [str(b) for b in batches], mode)
    return Response(orjson.dumps((await services.calibrations.shown([record]))[0]), media_type=_JSON)


async def list_calibrations(request: Request) -> Response:
    """The tenant's calibrations, newest first (``?model=`` for one model's)."""
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    records = await services.calibrations.list(tenant, request.query_params.get("model") or None)
    data = {"object": "list", "data": await services.calibrations.shown(records), "has_more": False}
    return Response(orjson.dumps(data), media_type=_JSON)


async def retrieve_calibration(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    record = await services.calibrations.get(tenant, request.path_params["calibration_id"])
    return Response(orjson.dumps((await services.calibrations.shown([record]))[0]), media_type=_JSON)
