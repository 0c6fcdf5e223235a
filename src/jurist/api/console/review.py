"""/console/batches/{batch_id}/review: a batch's verdicts one at a time, filtered on the server over the
batch's review index (``review_index``: built once per output file, kept in a small LRU), labelled from
the page through the same use case as ``POST /v1/batches/{id}/labels`` (the labels, then the
calibrations refitted on them), with the judge's agreement with the labels fetched as JSON."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from jurist.api.console.forms import read_form
from jurist.api.console.numbers import as_int, int_param
from jurist.api.console.review_filters import CHECKS, majorities, parse, select
from jurist.api.console.review_index import ReviewIndex, ReviewIndexes
from jurist.api.console.review_line import read_line
from jurist.api.console.session import page, safe_next, tenant_of_page
from jurist.api.console.templating import pages_of
from jurist.api.deps import json_object_body, services_of
from jurist.composition import Services
from jurist.errors import InvalidRequest, JuristError, NotFound
from jurist.evaluation.agreement import Label
from jurist.service.trust.labels import DEFAULT_ANNOTATOR, wire
from jurist.store.records import BatchRecord

_JSON = "application/json"
AGREEMENT_ROUNDS = 200  # bootstrap rounds of the accuracy's interval (the page shows accuracy, kappa, n)


def indexes_of(request: Request) -> ReviewIndexes:
    """The process's review indexes (one cache per app, made by api.app.create_app)."""
    indexes: ReviewIndexes = request.app.state.review_indexes
    return indexes


async def _files(services: Services, tenant: str, record: BatchRecord) -> tuple[str | None, str]:
    """The batch's input file id (None when deleted) and output file id (404 when there is none)."""
    out = record.output_file_id
    if out is None:
        raise NotFound(f"Batch {record.id} has no output yet (status {record.status}): nothing to review.")
    await services.files.get(tenant, out)
    try:
        await services.files.get(tenant, record.input_file_id)
    except NotFound:
        return None, out
    return record.input_file_id, out


async def _index(
    request: Request, tenant: str, batch_id: str
) -> tuple[BatchRecord, str | None, str, ReviewIndex]:
    services = services_of(request)
    record = await services.batches.get(tenant, batch_id)
    input_id, output_id = await _files(services, tenant, record)
    return record, input_id, output_id, await indexes_of(request).get(services.blobs, input_id, output_id)


def _position(request: Request, total: int) -> int:
    position = int_param(request.query_params.get("i", "1"), "i")
    return min(max(position, 1), max(total, 1))


@page
async def review(request: Request) -> Response:
    services = services_of(request)
    tenant = tenant_of_page(request).id
    batch_id = request.path_params["batch_id"]
    record, input_id, output_id, index = await _index(request, tenant, batch_id)
    filters = parse(request.query_params)
    labels = await services.labels.list(tenant, batch_id)
    given: dict[str, list[Label]] = {}
    for label in labels:
        if isinstance(label.label, str | int):
            given.setdefault(label.custom_id, []).append(label.label)
    chosen = select(filters, index.entries, majorities(given) if filters.disagrees else {})
    i = _position(request, len(chosen))
    entry = index.entries[chosen[i - 1]] if chosen else None
    view = await read_line(services.blobs, input_id, output_id, entry) if entry else None
    base = f"/console/batches/{batch_id}/review"
    return pages_of(request).render(
        request,
        "review.html",
        section="batches",
        batch=record,
        base=base,
        filters=filters,
        checks=CHECKS,
        i=i,
        total=len(chosen),
        lines=len(index.entries),
        prev_url=f"{base}?{filters.query(i=i - 1)}" if i > 1 else None,
        next_url=f"{base}?{filters.query(i=i + 1)}" if i < len(chosen) else None,
        here=f"{base}?{filters.query(i=i)}",
        clear_url=base,
        entry=entry,
        view=view,
        line_labels=[r for r in labels if entry and r.custom_id == entry.custom_id],
    )


def _error(error: JuristError) -> Response:
    data = {"error": {"message": error.message, "type": error.type, "param": error.param}}
    return Response(orjson.dumps(data), status_code=error.status_code, media_type=_JSON)


async def _label_fields(request: Request) -> dict[str, object]:
    if request.headers.get("content-type", "").startswith(_JSON):
        return dict(await json_object_body(request, services_of(request).settings.max_request_bytes))
    form = await read_form(request)
    return {k: v for k, v in form.items() if isinstance(v, str)}


@page
async def post_label(request: Request) -> Response:
    """A label of one line (form: back to the page; JSON: the label and the refitted calibrations)."""
    as_json = request.headers.get("content-type", "").startswith(_JSON)
    try:
        services = services_of(request)
        tenant = tenant_of_page(request).id
        batch_id = request.path_params["batch_id"]
        fields = await _label_fields(request)
        _, _, _, index = await _index(request, tenant, batch_id)
        custom_id = fields.get("custom_id")
        entry = index.entry(custom_id) if isinstance(custom_id, str) else None
        if entry is None or entry.mode is None:
            raise InvalidRequest(
                f"{custom_id!r} is not a judged line of batch {batch_id}.", param="custom_id"
            )
        label = fields.get("label")
        number = as_int(label, signed=True) if entry.mode == "single" and isinstance(label, str) else None
        if number is not None:
            label = number
        item = {
            "custom_id": custom_id,
            "label": label,
            "annotator": str(fields.get("annotator") or "").strip() or DEFAULT_ANNOTATOR,
            "note": str(fields.get("note") or "").strip() or None,
        }
        records = await services.labels.post(tenant, batch_id, [item])
        refitted = await services.calibrations.refit_after_labels(tenant, batch_id)
    except JuristError as error:
        if as_json:
            return _error(error)
        raise
    if not as_json:
        back = fields.get("back")
        return RedirectResponse(safe_next(back if isinstance(back, str) else None), status_code=303)
    data = {"label": wire(records[0]), "calibrations": [c.id for c in refitted]}
    return Response(orjson.dumps(data), media_type=_JSON)


@page
async def agreement(request: Request) -> Response:
    """The judge's agreement with the batch's labels (``services.labels.agreement``), as JSON."""
    services = services_of(request)
    tenant = tenant_of_page(request).id
    try:
        result = await services.labels.agreement(tenant, request.path_params["batch_id"], AGREEMENT_ROUNDS)
    except JuristError as error:
        return _error(error)
    return Response(result.model_dump_json(), media_type=_JSON)
