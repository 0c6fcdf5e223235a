"""/v1/batches/{id}/labels: human labels of a batch's lines (post a JSON list or JSONL, list, delete)."""

from __future__ import annotations

import orjson
from pydantic import JsonValue
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from jurist.api.deps import read_body, services_of, tenant_of
from jurist.api.files import client_disconnected
from jurist.api.params import int_param
from jurist.service.trust.labels import DEFAULT_ANNOTATOR, check_count, parse_body, wire_all

_JSON = "application/json"


def _listing(records: list[JsonValue]) -> Response:
    data = {"object": "list", "data": records, "has_more": False}
    return Response(orjson.dumps(data), media_type=_JSON)


async def post_labels(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    try:
        raw = await read_body(request, services.settings.max_request_bytes)
    except ClientDisconnect as exc:
        raise client_disconnected(request, param="body") from exc
    items = check_count(parse_body(raw))  # the API's cap; ``jurist labels import`` has none
    batch_id = request.path_params["batch_id"]
    records = await services.labels.post(tenant, batch_id, items)
    refitted = await services.calibrations.refit_after_labels(tenant, batch_id)
    data = {"object": "list", "data": await wire_all(records), "has_more": False}
    data["calibrations"] = [  # refitted on these labels (a calibration per model and mode judged)
        {"id": c.id, "model": c.model, "mode": c.mode, "version": c.version} for c in refitted
    ]
    return Response(orjson.dumps(data), media_type=_JSON)


async def list_labels(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    records = await services.labels.list(tenant, request.path_params["batch_id"])
    return _listing(await wire_all(records))


async def delete_label(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    custom_id = request.path_params["custom_id"]
    annotator = request.query_params.get("annotator") or DEFAULT_ANNOTATOR
    await services.labels.delete(tenant, request.path_params["batch_id"], custom_id, annotator)
    data = {"object": "batch.label.deleted", "custom_id": custom_id, "annotator": annotator, "deleted": True}
    return Response(orjson.dumps(data), media_type=_JSON)


async def batch_agreement(request: Request) -> Response:
    """The judge's agreement with the batch's human labels (``?bootstrap=``, ``?seed=`` as the report)."""
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    rounds = int_param(request, "bootstrap", 1000, 1, 10000)
    seed = int_param(request, "seed", 0, 0, 2**32 - 1)
    result = await services.labels.agreement(tenant, request.path_params["batch_id"], rounds, seed)
    return Response(result.model_dump_json(), media_type=_JSON)
