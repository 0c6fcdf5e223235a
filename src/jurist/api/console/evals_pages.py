"""The console's evals (the OpenAI Evals API's objects, through the same ``EvalService`` and tenant rules
as ``/v1/evals``):

- ``/console/evals``: the tenant's evals, newest first, a page at a time;
- ``/console/evals/{eval_id}``: its testing criteria and data source config, and its runs (newest
  first, a page at a time) with their pass rates, overall and per criterion;
- ``/console/evals/{eval_id}/runs/{run_id}``: a run (its ``report_url``): status, counts, pass rates
  per criterion, model usage, and its output items filtered by status and by a criterion's verdict
  (``eval_items``), each shown with its datasource item, its sample's output and every criterion's
  result side by side; a head-to-head run (graded by its own criterion) also its "Head to head" panel
  (``head_to_head_view``), its rows showing the question and both runs' answers.

Another tenant's eval or run (or a run asked for under another eval) is the same 404 page as one that
does not exist: the service decides, as for the API."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jurist.api.console import eval_items
from jurist.api.console.batches import when
from jurist.api.console.eval_items import (
    PAGE_SIZE,
    STATUSES,
    ItemFilters,
    parse_filters,
    read_page,
)
from jurist.api.console.evals_view import (
    CriterionView,
    criteria_of,
    criterion_rates,
    eval_row,
    item_row,
    metadata_of,
    overall,
    run_criteria,
    source_config,
    summary,
)
from jurist.api.console.head_to_head_view import head_to_head_panel
from jurist.api.console.numbers import int_param
from jurist.api.console.session import page, tenant_of_page
from jurist.api.console.templating import pages_of
from jurist.api.deps import services_of

EVALS_PAGE = 20
RUNS_PAGE = 20


def _after(request: Request) -> str | None:
    return request.query_params.get("after") or None


@page
async def evals_page(request: Request) -> Response:
    tenant = tenant_of_page(request)
    after = _after(request)
    found = await services_of(request).evals.list_evals(tenant.id, after, EVALS_PAGE, "desc", False)
    return pages_of(request).render(
        request, "evals.html", section="evals", rows=[eval_row(r) for r in found.items], after=after,
        has_more=found.has_more, last_id=found.items[-1].id if found.items else None,
    )  # fmt: skip


@page
async def eval_page(request: Request) -> Response:
    tenant = tenant_of_page(request)
    evals = services_of(request).evals
    record = await evals.get(tenant.id, request.path_params["eval_id"])
    criteria = criteria_of(record)
    after = _after(request)
    runs = await evals.list_runs(tenant.id, record.id, after, RUNS_PAGE, "desc", None)
    summaries = [
        summary(run, run_criteria(record, run), await evals.store.counts(run.id)) for run in runs.items
    ]
    return pages_of(request).render(
        request, "eval.html", section="evals", record=record, created=when(record.created_at),
        metadata=metadata_of(record.body), criteria=criteria, config=source_config(record),
        runs=summaries, after=after, has_more=runs.has_more,
        last_id=runs.items[-1].id if runs.items else None,
    )  # fmt: skip


def _url(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def _criterion_choices(criteria: list[CriterionView]) -> list[tuple[str, str]]:
    """The criterion filter's options: (value, label), "any" first."""
    choices = [("", "any")]
    for c in criteria:
        choices += [(f"{c.index}:failed", f"{c.name} failed"), (f"{c.index}:errored", f"{c.name} errored")]
    return choices


def _describe(f: ItemFilters, criteria: list[CriterionView]) -> str:
    """The filters in words ("" for none)."""
    parts = [label.lower() + " rows" for value, label in STATUSES if value and value == f.status]
    if f.criterion is not None:
        parts.append(f"rows where {criteria[f.criterion].name} {f.outcome}")
    return " and ".join(parts)


@page
async def run_page(request: Request) -> Response:
    tenant = tenant_of_page(request)
    evals = services_of(request).evals
    params = request.path_params
    record = await evals.get(tenant.id, params["eval_id"])
    run = await evals.get_run(tenant.id, record.id, params["run_id"])
    criteria = run_criteria(record, run)  # a head-to-head run's own
    h2h = await head_to_head_panel(services_of(request), tenant.id, record.id, run)
    counts, usage = await evals.store.counts(run.id), await evals.store.usage(run.id)
    filters = parse_filters(request.query_params, len(criteria))
    after = _after(request)
    shown = int_param(request.query_params.get("shown") or "0", "shown") if after else 0
    found = await read_page(evals, tenant.id, record.id, run.id, filters, after)
    base = f"/console/evals/{record.id}/runs/{run.id}"
    next_url = None
    if found.next_after is not None:
        next_url = _url(base, filters.query(after=found.next_after, shown=shown + len(found.items)))
    total = overall(counts).total
    return pages_of(request).render(
        request, "eval_run.html", section="evals", record=record, run=summary(run, criteria, counts),
        updated=when(run.updated_at), overall=overall(counts), rates=criterion_rates(criteria, counts),
        usage=usage, criteria=criteria, filters=filters, statuses=STATUSES,
        criterion_choices=_criterion_choices(criteria), described=_describe(filters, criteria),
        rows=[item_row(i, criteria) for i in found.items], matching=filters.matching(counts),
        shown=shown, found=found, next_url=next_url, first_url=_url(base, filters.query()) if after else None,
        base=base, page_size=PAGE_SIZE, scan_limit=eval_items.SCAN_LIMIT,
        bounded=filters.criterion is not None and total > eval_items.SCAN_LIMIT,
        metadata=metadata_of(run.body), h2h=h2h,
    )  # fmt: skip


ROUTES = [
    Route("/evals", evals_page, methods=["GET"]),
    Route("/evals/{eval_id}", eval_page, methods=["GET"]),
    Route("/evals/{eval_id}/runs/{run_id}", run_page, methods=["GET"]),
]
