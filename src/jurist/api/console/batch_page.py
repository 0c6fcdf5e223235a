"""One batch in the console: its page (``/console/batches/{id}``: status, counts, live progress,
timestamps, files, line errors, and the report in a frame: ``report_frame``), cancel, and downloading
one of the tenant's files. Another tenant's batch or file is the same 404 page as one that does not
exist: the services decide, as for the API."""

from __future__ import annotations

import re
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from jurist.api.console.batches import badge, progress, when
from jurist.api.console.session import page, tenant_of_page
from jurist.api.console.templating import pages_of
from jurist.api.deps import services_of
from jurist.errors import NotFound
from jurist.store.records import BatchRecord, FileRecord

TIMES = (
    ("Created", "created_at"),
    ("In progress", "in_progress_at"),
    ("Finalizing", "finalizing_at"),
    ("Completed", "completed_at"),
    ("Failed", "failed_at"),
    ("Cancelling", "cancelling_at"),
    ("Cancelled", "cancelled_at"),
    ("Expired", "expired_at"),
    ("Expires", "expires_at"),
)
FILES = (("Input", "input_file_id"), ("Output", "output_file_id"), ("Errors", "error_file_id"))


async def _file(request: Request, tenant: str, file_id: str | None) -> FileRecord | None:
    if file_id is None:
        return None
    try:
        return await services_of(request).files.get(tenant, file_id)
    except NotFound:  # expired or deleted
        return None


def _times(record: BatchRecord) -> list[tuple[str, str]]:
    return [(name, when(getattr(record, attr))) for name, attr in TIMES if getattr(record, attr) is not None]


@page
async def batch_page(request: Request) -> Response:
    tenant = tenant_of_page(request)
    services = services_of(request)
    record = await services.batches.get(tenant.id, request.path_params["batch_id"])
    files = [(name, await _file(request, tenant.id, getattr(record, attr))) for name, attr in FILES]
    return pages_of(request).render(
        request, "batch.html", section="batches", batch=record, badge=badge(record.status),
        progress=progress(record, services.batches.clock.now()), times=_times(record),
        files=[(name, found) for name, found in files if found is not None],
        has_report=record.output_file_id is not None or record.error_file_id is not None,
    )  # fmt: skip


@page
async def cancel_batch(request: Request) -> Response:
    tenant = tenant_of_page(request)
    record = await services_of(request).batches.cancel(tenant.id, request.path_params["batch_id"])
    return RedirectResponse(f"/console/batches/{record.id}", status_code=303)


def _disposition(filename: str) -> str:
    """``attachment`` with the file's name: an ASCII fallback and the exact name (RFC 6266)."""
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "download"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


@page
async def file_content(request: Request) -> Response:
    tenant = tenant_of_page(request)
    record, chunks = await services_of(request).files.content(tenant.id, request.path_params["file_id"])
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(record.bytes),
            "Content-Disposition": _disposition(record.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
