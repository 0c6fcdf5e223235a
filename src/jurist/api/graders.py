"""/v1/fine_tuning/alpha/graders/run and /validate: one grader, run on one sample, or checked."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from jurist.api.deps import json_object_body, services_of, tenant_of
from jurist.service.evals.grader_run import run_grader, validate_grader
from jurist.service.evals.grading import Grader

_JSON = "application/json"


async def run(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    body = await json_object_body(request, services.settings.max_request_bytes)
    grader = Grader(services.chat, tenant, services.python_sandbox())
    answer = await run_grader(body, grader, services.evals.rules)
    return Response(orjson.dumps(answer), media_type=_JSON)


async def validate(request: Request) -> Response:
    services = services_of(request)
    await tenant_of(request)
    body = await json_object_body(request, services.settings.max_request_bytes)
    return Response(orjson.dumps(validate_grader(body, services.evals.rules)), media_type=_JSON)
