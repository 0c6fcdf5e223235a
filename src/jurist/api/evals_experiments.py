"""Jurist's experiments over an eval's runs (extensions of the OpenAI Evals API):

- ``POST /v1/evals/{eval_id}/runs/head_to_head``: a run judging two runs' answers pairwise, in both
  orders (``service.evals.head_to_head``); answered like ``POST /v1/evals/{eval_id}/runs``;
- ``GET /v1/evals/{eval_id}/runs/{run_id}/head_to_head``: its win rate, tie rate, position consistency
  and decision, and the win rate anchored on human labels of its lines (``alpha``, ``margin``);
- ``GET /v1/evals/{eval_id}/leaderboard``: a Bradley–Terry board of the runs met in head-to-head runs
  (``style_control``: true by default; ``rounds`` of bootstrap)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from jurist.api.deps import json_object_body, services_of, tenant_of
from jurist.api.evals import float_param, json_response, run_json
from jurist.api.params import choice_param, int_param
from jurist.service.validation import check_comparison


async def create_head_to_head(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    body = await json_object_body(request, services.settings.max_request_bytes)
    run = await services.experiments.create_head_to_head(tenant, request.path_params["eval_id"], body)
    return json_response(await run_json(request, services.evals, run), 201)


async def head_to_head(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    margin, alpha = float_param(request, "margin", 0.02), float_param(request, "alpha", 0.05)
    check_comparison(margin, alpha)
    found = await services.experiments.head_to_head(
        tenant, request.path_params["eval_id"], request.path_params["run_id"], alpha, margin
    )
    return json_response(found)


async def leaderboard(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    style = choice_param(request, "style_control", "true", ("true", "false")) == "true"
    rounds = int_param(request, "rounds", 200, 1, 2000)
    found = await services.experiments.leaderboard(tenant, request.path_params["eval_id"], style, rounds)
    return json_response(found)
