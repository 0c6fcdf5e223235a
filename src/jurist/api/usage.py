"""GET /v1/usage (a tenant's own figures) and GET /v1/admin/usage (every tenant's, for the admin key).

This process's pending usage is written first, so the answer includes every request it served; other
servers and workers write theirs every ``usage_flush_seconds``."""

from __future__ import annotations

import datetime as dt

import orjson
from starlette.requests import Request
from starlette.responses import Response

from jurist.api.deps import require_admin, services_of, tenant_of
from jurist.composition import Services
from jurist.errors import NotFound
from jurist.service.tenancy.usage_report import UsageQuery, read_usage, usage_json, usage_query
from jurist.store.usage import GroupBy

_JSON = "application/json"


async def own_usage(request: Request) -> Response:
    """A key without ``X-On-Behalf-Of`` sees its account and all its sub-tenants; with it, that
    sub-tenant only."""
    services = services_of(request)
    tenant = await tenant_of(request)
    query = _query(request, services, ("day", "model"), tenant.id)
    return await _answer(services, query)


async def admin_usage(request: Request) -> Response:
    """Every tenant's usage, or one tenant's (``tenant=``: an account with its sub-tenants, or one
    sub-tenant, ``account/name``, alone); an unknown tenant is a 404."""
    require_admin(request)
    services = services_of(request)
    tenant = request.query_params.get("tenant") or None
    query = _query(request, services, ("tenant", "day", "model"), tenant)
    if tenant is not None and not await services.stores.usage.known(tenant):
        raise NotFound(f"No such tenant: {tenant[:100]}", param="tenant")
    return await _answer(services, query)


def _query(
    request: Request, services: Services, groups: tuple[GroupBy, ...], tenant: str | None
) -> UsageQuery:
    params = request.query_params
    today = dt.datetime.fromtimestamp(services.clock.now(), dt.UTC).date()
    default: GroupBy = "tenant" if "tenant" in groups and tenant is None else "model"
    start, end, group_by = params.get("start"), params.get("end"), params.get("group_by")
    return usage_query(today, start, end, group_by, groups, default, tenant)


async def _answer(services: Services, query: UsageQuery) -> Response:
    await services.usage.flush()
    rows = await read_usage(services.stores.usage, query)
    return Response(orjson.dumps(usage_json(query, rows)), media_type=_JSON)
