"""/v1/evals: the OpenAI Evals API (evals, runs, output items), as the official SDK sends and reads it."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from jurist.api.deps import json_object_body, services_of, tenant_of
from jurist.api.params import choice_param, int_param
from jurist.errors import InvalidRequest
from jurist.protocol.json_types import JSONObject
from jurist.service.evals.compare import DIFFS_SHOWN, Settings
from jurist.service.evals.definitions import eval_object
from jurist.service.evals.service import EvalService
from jurist.service.evals.wire import item_object, listing, run_object
from jurist.service.validation import check_comparison
from jurist.store.eval_records import EvalRunRecord, Order

_JSON = "application/json"
RUN_STATUSES = ("queued", "in_progress", "completed", "canceled", "failed")
ITEM_STATUSES = ("pass", "fail", "error")


def json_response(data: object, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=_JSON)


def _page_params(request: Request) -> tuple[str | None, int, Order]:
    after = request.query_params.get("after") or None
    limit = int_param(request, "limit", 20, 1, 100)
    order: Order = "desc" if choice_param(request, "order", "asc", ("asc", "desc")) == "desc" else "asc"
    return after, limit, order


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def run_json(request: Request, evals: EvalService, run: EvalRunRecord) -> JSONObject:
    record = await evals.get(run.tenant, run.eval_id)
    criteria = run.body.get("testing_criteria") or record.body.get("testing_criteria")  # a run's own first
    counts, usage = await evals.store.counts(run.id), await evals.store.usage(run.id)
    return run_object(run, criteria if isinstance(criteria, list) else [], counts, usage, _base_url(request))


async def create_eval(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    body = await json_object_body(request, services.settings.max_request_bytes)
    record = await services.evals.create(tenant, body)
    return json_response(eval_object(record), 201)


async def list_evals(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    after, limit, order = _page_params(request)
    by = choice_param(request, "order_by", "created_at", ("created_at", "updated_at"))
    page = await services.evals.list_evals(tenant, after, limit, order, by == "updated_at")
    return json_response(listing([eval_object(r) for r in page.items], page.has_more))


async def retrieve_eval(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    return json_response(eval_object(await services.evals.get(tenant, request.path_params["eval_id"])))


async def update_eval(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    body = await json_object_body(request, services.settings.max_request_bytes)
    return json_response(
        eval_object(await services.evals.update(tenant, request.path_params["eval_id"], body))
    )


async def delete_eval(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    eval_id = request.path_params["eval_id"]
    await services.evals.delete(tenant, eval_id)
    return json_response({"object": "eval.deleted", "deleted": True, "eval_id": eval_id})


async def create_run(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    body = await json_object_body(request, services.settings.max_request_bytes)
    evals = services.evals
    run = await evals.create_run(tenant, request.path_params["eval_id"], body)
    return json_response(await run_json(request, evals, run), 201)


async def list_runs(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    after, limit, order = _page_params(request)
    status = request.query_params.get("status") or None
    if status is not None and status not in RUN_STATUSES:
        raise InvalidRequest(f"Invalid 'status': expected one of {', '.join(RUN_STATUSES)}.", param="status")
    evals = services.evals
    page = await evals.list_runs(tenant, request.path_params["eval_id"], after, limit, order, status)
    return json_response(listing([await run_json(request, evals, r) for r in page.items], page.has_more))


async def retrieve_run(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    evals, params = services.evals, request.path_params
    run = await evals.get_run(tenant, params["eval_id"], params["run_id"])
    return json_response(await run_json(request, evals, run))


async def cancel_run(request: Request) -> Response:
    """Both paths: the SDK posts to …/runs/{run_id} (older) or …/runs/{run_id}/cancel (newer)."""
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    evals, params = services.evals, request.path_params
    run = await evals.cancel_run(tenant, params["eval_id"], params["run_id"])
    return json_response(await run_json(request, evals, run))


async def delete_run(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    params = request.path_params
    await services.evals.delete_run(tenant, params["eval_id"], params["run_id"])
    return json_response({"object": "eval.run.deleted", "deleted": True, "run_id": params["run_id"]})


async def list_output_items(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    after, limit, order = _page_params(request)
    status = request.query_params.get("status") or None
    if status is not None and status not in (*ITEM_STATUSES, "failed", "errored"):
        raise InvalidRequest(f"Invalid 'status': expected one of {', '.join(ITEM_STATUSES)}.", param="status")
    eval_id, run_id = request.path_params["eval_id"], request.path_params["run_id"]
    page = await services.evals.list_items(tenant, eval_id, run_id, after, limit, order, status)
    return json_response(listing([item_object(i, eval_id) for i in page.items], page.has_more))


async def retrieve_output_item(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    params = request.path_params
    item = await services.evals.get_item(
        tenant, params["eval_id"], params["run_id"], params["output_item_id"]
    )
    return json_response(item_object(item, params["eval_id"]))


def float_param(request: Request, name: str, default: float) -> float:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise InvalidRequest(f"Invalid '{name}': expected a number, got {raw[:40]!r}.", param=name) from None


async def compare_runs(request: Request) -> Response:
    """``GET /v1/evals/{eval_id}/runs/compare?base=RUN&candidate=RUN`` (Jurist's extension): is the
    candidate better? ``margin`` (0.02), ``alpha`` (0.05), ``criterion``, ``allow_mismatch``, ``diffs``."""
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    query = request.query_params
    ids = {}
    for param in ("base", "candidate"):
        value = query.get(param)
        if not value:
            raise InvalidRequest(f"{param} must name a run of this eval.", param=param)
        ids[param] = value
    margin, alpha = float_param(request, "margin", 0.02), float_param(request, "alpha", 0.05)
    check_comparison(margin, alpha)
    mismatch = choice_param(request, "allow_mismatch", "false", ("true", "false")) == "true"
    settings = Settings(
        margin,
        alpha,
        mismatch,
        query.get("criterion") or None,
        int_param(request, "diffs", DIFFS_SHOWN, 0, 10_000),
    )
    found = await services.evals.compare_runs(tenant, request.path_params["eval_id"], ids, settings)
    return json_response(found)
