"""A batch's report for the console (``/console/batches/{id}/report``, framed in the batch's page): the
same page as ``GET /v1/batches/{id}/report?format=html`` (``report_html`` over ``ReportService.report``).
It runs plotly.js and the charts' inline scripts, so it has its own CSP: inline scripts and styles,
nothing fetched, and sandboxed (an opaque origin: its scripts cannot reach the console's cookies or API).

A large batch's report costs seconds of CPU (it reads both files and bootstraps), and the batch's page
asks for it on every view: the last few pages are kept, each with what it was made from (the batch's
status and files, and its labels), and made again when any of that changed."""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from jurist.api.console.session import page, tenant_of_page
from jurist.api.deps import services_of
from jurist.errors import NotFound

REPORT_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
        "font-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox allow-scripts"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
KEPT = 4  # pages kept (each holds plotly.js: ~4 MB)


@dataclass
class ReportPages:
    """The last ``KEPT`` report pages, by (tenant, batch) → (what it was made from, the page)."""

    pages: OrderedDict[tuple[str, str], tuple[str, str]] = field(default_factory=OrderedDict)

    def get(self, key: tuple[str, str], made_from: str) -> str | None:
        found = self.pages.get(key)
        if found is None or found[0] != made_from:
            return None
        self.pages.move_to_end(key)
        return found[1]

    def put(self, key: tuple[str, str], made_from: str, html: str) -> None:
        self.pages[key] = (made_from, html)
        self.pages.move_to_end(key)
        while len(self.pages) > KEPT:
            self.pages.popitem(last=False)


def _kept(request: Request) -> ReportPages:
    kept: ReportPages = request.app.state.console_reports  # one per app (api.app.create_app)
    return kept


async def _made_from(request: Request, tenant: str, batch_id: str) -> str:
    """A digest of everything the report reads: the batch's status and counts, which of its files are
    still there, and its labels (the batch is the tenant's, or this is a 404)."""
    services = services_of(request)
    record = await services.batches.get(tenant, batch_id)
    files = []
    for file_id in (record.input_file_id, record.output_file_id, record.error_file_id):
        try:
            files.append(file_id and (await services.files.get(tenant, file_id)).id)
        except NotFound:
            files.append(None)
    labels = [
        (r.custom_id, r.annotator, r.label, dict(r.criteria or {}), r.created_at)
        for r in await services.labels.list(tenant, batch_id)
    ]
    basis = [record.status, record.completed, record.failed, files, labels]
    return hashlib.sha256(orjson.dumps(basis)).hexdigest()


@page
async def report_page(request: Request) -> Response:
    from jurist.evaluation.report_html import render_html  # plotly: loaded when a report is asked for

    tenant = tenant_of_page(request).id
    batch_id = request.path_params["batch_id"]
    made_from = await _made_from(request, tenant, batch_id)
    kept = _kept(request)
    html = kept.get((tenant, batch_id), made_from)
    if html is None:
        report = await services_of(request).reports.report(tenant, batch_id)
        html = await asyncio.to_thread(render_html, report, f"Jurist batch report: {batch_id}")
        kept.put((tenant, batch_id), made_from, html)
    return HTMLResponse(html, headers=REPORT_HEADERS)
