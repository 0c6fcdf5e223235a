"""The console's batches list (``/console/batches``): the tenant's batches newest first, a page at a
time (``BatchService.page``, like the API's ``after``/``limit``), each with its live progress; creating a
batch from a dropped JSONL file (the same use cases as ``POST /v1/files`` then ``POST /v1/batches``); and
the small JSON the pages poll for progress (``/console/batches/progress?id=…``, the tenant's batches only)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jurist.api.console.session import page, tenant_of_page
from jurist.api.console.templating import pages_of
from jurist.api.deps import services_of
from jurist.api.files import read_upload
from jurist.errors import InvalidRequest, JuristError, NotFound
from jurist.protocol.batches import BatchStatus
from jurist.protocol.json_types import JSONObject
from jurist.store.records import BatchRecord

PAGE_SIZE = 20
MAX_POLLED = 100
DEFAULT_ENDPOINT = "/v1/chat/completions"
DEFAULT_WINDOW = "24h"
UPLOAD_HEADER = "Send the file with the page's CSRF token in the X-CSRF-Token header (as the page does)."


def when(timestamp: int | None) -> str:
    """A Unix time as UTC text ("" for none)."""
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else (f"{minutes}m {secs:02d}s" if minutes else f"{secs}s")


def badge(status: BatchStatus) -> str:
    if status == BatchStatus.COMPLETED:
        return "good"
    return "bad" if status.is_terminal else "warn"


def progress(record: BatchRecord, now: float) -> dict[str, object]:
    """A batch's progress as the pages show it: counts, lines/s over the time since it started running
    (up to when it finished) and the time left at that rate. The page and the poll share it."""
    done = record.completed + record.failed
    final = record.status.is_terminal
    ended = record.finalizing_at or record.completed_at or record.failed_at or record.cancelled_at
    ended = ended or record.expired_at
    end = float(ended) if ended is not None and (final or record.status == "finalizing") else now
    started = record.in_progress_at
    rate = done / (end - started) if started is not None and end > started and done else None
    left = record.total - done
    eta = left / rate if rate and not final and left > 0 else None
    return {
        "id": record.id,
        "status": str(record.status),
        "badge": badge(record.status),
        "final": final,
        "total": record.total,
        "completed": record.completed,
        "failed": record.failed,
        "done": done,
        "rate": f"{rate:,.1f} lines/s" if rate else "—",
        "eta": _duration(eta) if eta is not None else ("done" if record.status == "completed" else "—"),
    }


@page
async def batches_page(request: Request) -> Response:
    tenant = tenant_of_page(request)
    services = services_of(request)
    after = request.query_params.get("after") or None
    found = await services.batches.page(tenant.id, after=after, limit=PAGE_SIZE)
    now = services.batches.clock.now()
    rows = [{"record": r, "created": when(r.created_at), "progress": progress(r, now)} for r in found.items]
    return pages_of(request).render(
        request, "batches.html", section="batches", rows=rows, after=after, has_more=found.has_more,
        last_id=found.items[-1].id if found.items else None,
        endpoint=DEFAULT_ENDPOINT, window=DEFAULT_WINDOW,
    )  # fmt: skip


@page
async def batches_progress(request: Request) -> Response:
    """``{"batches": [progress…]}`` for the ``id``s given that are the tenant's (others are left out,
    as a batch that does not exist)."""
    tenant = tenant_of_page(request)
    services = services_of(request)
    now = services.batches.clock.now()
    out = []
    for batch_id in request.query_params.getlist("id")[:MAX_POLLED]:
        try:
            record = await services.batches.get(tenant.id, batch_id)
        except NotFound:
            continue
        out.append(progress(record, now))
    return JSONResponse({"batches": out}, headers={"Cache-Control": "no-store"})


@page
async def create_batch(request: Request) -> Response:
    """The dropped file (multipart ``file``, ``endpoint``, ``completion_window``), sent by the page's
    script with the CSRF header (the upload's size is checked as it is read: never the whole form
    first): stored as a batch input file, then a batch of it. JSON either way: the batch's page to go
    to, or the API's error (its status and message)."""
    tenant = tenant_of_page(request)
    services = services_of(request)
    try:
        if not request.headers.get("x-csrf-token"):  # its token came in the form: the body is read
            raise InvalidRequest(UPLOAD_HEADER, param="file")
        created, fields = await read_upload(request, tenant, purpose="batch")
        body: JSONObject = {
            "input_file_id": created.id,
            "endpoint": fields.get("endpoint") or DEFAULT_ENDPOINT,
            "completion_window": fields.get("completion_window") or DEFAULT_WINDOW,
        }
        record = await services.batches.create(tenant.id, body, None, tenant.policy)
    except JuristError as error:
        return JSONResponse(error.to_envelope(), status_code=error.status_code)
    return JSONResponse({"id": record.id, "url": f"/console/batches/{record.id}"})
