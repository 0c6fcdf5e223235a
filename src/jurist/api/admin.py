"""/v1/admin/keys and /v1/admin/tenants: the admin key (``JURIST_ADMIN_KEY``) manages tenants' keys,
limits and weights. Any other key gets 401, whether or not it is a tenant's."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from jurist.api.deps import json_object_body, require_admin, services_of
from jurist.protocol.admin import KeyCreate, TenantUpdate
from jurist.service.tenancy.key_admin import parse

_JSON = "application/json"


def _json(body: BaseModel, status_code: int = 200) -> Response:
    return Response(body.model_dump_json(), status_code=status_code, media_type=_JSON)


async def create_key(request: Request) -> Response:
    """The new key with its secret, shown in this response only."""
    require_admin(request)
    services = services_of(request)
    body = parse(KeyCreate, await json_object_body(request, services.settings.max_request_bytes))
    return _json(await services.key_admin.create_key(body), status_code=201)


async def list_keys(request: Request) -> Response:
    require_admin(request)
    tenant = request.query_params.get("tenant") or None
    return _json(await services_of(request).key_admin.list_keys(tenant))


async def retrieve_key(request: Request) -> Response:
    require_admin(request)
    return _json(await services_of(request).key_admin.get_key(request.path_params["key_id"]))


async def revoke_key(request: Request) -> Response:
    require_admin(request)
    return _json(await services_of(request).key_admin.revoke_key(request.path_params["key_id"]))


async def list_tenants(request: Request) -> Response:
    require_admin(request)
    return _json(await services_of(request).key_admin.list_tenants())


async def retrieve_tenant(request: Request) -> Response:
    require_admin(request)
    return _json(await services_of(request).key_admin.get_tenant(request.path_params["tenant"]))


async def update_tenant(request: Request) -> Response:
    require_admin(request)
    services = services_of(request)
    body = parse(TenantUpdate, await json_object_body(request, services.settings.max_request_bytes))
    return _json(await services.key_admin.update_tenant(request.path_params["tenant"], body))
