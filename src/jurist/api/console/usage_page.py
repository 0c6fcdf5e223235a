"""``/console/usage``: the figures of ``GET /v1/usage`` by day and model over a range of days (both ends
included, by default the last 30 up to today, UTC), with totals and a bar per day. The admin's session
sees every tenant's, as ``GET /v1/admin/usage`` (grouped by tenant, or one tenant's with ``tenant=``);
a tenant's session sees its own (and its sub-tenants') only. This process's pending usage is written
first, as the API does."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from jurist.api.console.session import page, user_of
from jurist.api.console.templating import pages_of
from jurist.api.deps import services_of
from jurist.errors import InvalidRequest, NotFound
from jurist.service.tenancy.usage_report import read_usage, usage_query
from jurist.store.usage import GroupBy, UsageCounts, UsageRow, merged

TENANT_GROUPS: tuple[GroupBy, ...] = ("day", "model")
ADMIN_GROUPS: tuple[GroupBy, ...] = ("tenant", "day", "model")


@dataclass(frozen=True)
class DayBar:
    day: str
    tokens: int
    calls: int


def by_day(rows: Sequence[UsageRow]) -> list[DayBar]:
    days: dict[str, UsageCounts] = defaultdict(UsageCounts)
    for row in rows:
        days[row.day or ""] += row.counts
    return [DayBar(day, c.total_tokens, c.judge_calls) for day, c in sorted(days.items())]


def by_tenant(rows: Sequence[UsageRow]) -> list[tuple[str, UsageCounts]]:
    tenants: dict[str, list[UsageRow]] = defaultdict(list)
    for row in rows:
        tenants[row.tenant or ""].append(row)
    return [(tenant, merged(found)) for tenant, found in sorted(tenants.items())]


@page
async def usage(request: Request) -> Response:
    user = user_of(request)
    services = services_of(request)
    params = request.query_params
    start, end = params.get("start") or None, params.get("end") or None
    tenant = user.tenant.id if user.tenant is not None else (params.get("tenant") or "").strip() or None
    groups = ADMIN_GROUPS if user.admin else TENANT_GROUPS
    today = dt.datetime.fromtimestamp(services.clock.now(), dt.UTC).date()
    form = {"start": start or "", "end": end or "", "tenant": (tenant or "") if user.admin else ""}
    pages = pages_of(request)
    try:
        query = usage_query(today, start, end, ",".join(groups), groups, groups[0], tenant)
        if user.admin and tenant is not None and not await services.stores.usage.known(tenant):
            raise NotFound(f"No such tenant: {tenant[:100]}", param="tenant")
    except (InvalidRequest, NotFound) as error:
        return pages.render(request, "usage.html", error.status_code, section="usage", form=form, error=error)
    await services.usage.flush()
    rows = await read_usage(services.stores.usage, query)
    days = by_day(rows)
    return pages.render(
        request, "usage.html", section="usage", error=None,
        form={**form, "start": query.start, "end": query.end}, query=query, rows=rows,
        totals=merged(rows), days=days, peak=max([d.tokens for d in days], default=0),
        tenants=by_tenant(rows) if user.admin else [],
    )  # fmt: skip
