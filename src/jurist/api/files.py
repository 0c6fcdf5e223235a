"""/v1/files: upload (multipart), list, retrieve, delete, content (streamed)."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Message

from jurist.api.deps import services_of, tenant_of
from jurist.api.params import choice_param, int_param
from jurist.errors import InvalidRequest, PayloadTooLarge
from jurist.protocol.files import FileDeleted, FileObject
from jurist.service.jobs.files import LISTED_PURPOSES, file_object
from jurist.service.tenancy.auth import Tenant

log = logging.getLogger("jurist.api")
_JSON = "application/json"
_MULTIPART_SLACK = 64 * 1024
_READ = 1 << 20


def _limited(request: Request, limit: int) -> Request:
    """The same request, whose body stops with 413 past ``limit`` bytes (chunked uploads too)."""
    seen = 0
    receive = request.receive

    async def counting() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise PayloadTooLarge(
                f"File is larger than the limit of {limit - _MULTIPART_SLACK} bytes.", param="file"
            )
        return message

    return Request(request.scope, counting)


def client_disconnected(request: Request, param: str) -> InvalidRequest:
    """What a route raises when the client went away while its body was read (starlette's
    ``ClientDisconnect``): logged quietly, no traceback; the 400 it becomes is never delivered."""
    log.info("%s %s: the client disconnected mid-body", request.method, request.url.path)
    return InvalidRequest("The client disconnected before the request body was complete.", param=param)


_NOT_PLAIN = re.compile(r"[^\x20-\x7e]")


def content_disposition(filename: str) -> str:
    """``attachment`` with the file's name as RFC 6266 has it: ``filename`` an ASCII fallback (any other
    character an underscore; quotes and backslashes escaped) and ``filename*`` the exact name, UTF-8
    percent-encoded (RFC 5987). Always a valid header, whatever the stored name holds."""
    plain = _NOT_PLAIN.sub("_", filename).replace("\\", "\\\\").replace('"', '\\"') or "download"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _expires_after(form_value: str | None, anchor: str | None) -> int | None:
    if form_value is None:
        return None
    if anchor not in (None, "created_at"):
        raise InvalidRequest("expires_after[anchor] must be 'created_at'.", param="expires_after[anchor]")
    try:
        seconds = int(form_value)
    except ValueError:
        raise InvalidRequest(
            "expires_after[seconds] must be an integer.", param="expires_after[seconds]"
        ) from None
    if not 3600 <= seconds <= 2_592_000:
        raise InvalidRequest(
            "expires_after[seconds] must be between 3600 and 2592000.", param="expires_after[seconds]"
        )
    return seconds


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(_READ):
        yield chunk


async def read_upload(
    request: Request, caller: Tenant, purpose: str | None = None
) -> tuple[FileObject, dict[str, str]]:
    """The multipart upload of ``request`` stored for ``caller`` (size limits, quota), and the form's
    other text fields. ``purpose`` fixes the purpose (the console's batch upload) instead of the form's."""
    services = services_of(request)
    tenant, quota = caller.id, caller.policy.quota_bytes
    limit = services.settings.max_file_bytes + _MULTIPART_SLACK
    declared = request.headers.get("content-length")
    if declared and declared.isdigit():
        if int(declared) > limit:
            raise PayloadTooLarge(
                f"File is larger than the limit of {services.settings.max_file_bytes} bytes.", param="file"
            )
        await services.files.check_quota(tenant, max(0, int(declared) - _MULTIPART_SLACK), quota)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidRequest(
            "Upload files as multipart/form-data with fields 'file' and 'purpose'.", param="file"
        )
    try:
        form = await _limited(request, limit).form(max_files=1, max_fields=20)
    except (MultiPartException, HTTPException) as exc:  # malformed multipart (HTTPException: starlette's 400)
        detail = exc.message if isinstance(exc, MultiPartException) else exc.detail
        raise InvalidRequest(f"Could not read the multipart body: {detail}", param="file") from exc
    except ClientDisconnect as exc:
        raise client_disconnected(request, param="file") from exc
    try:
        upload, kind = form.get("file"), purpose or form.get("purpose")
        if not isinstance(upload, UploadFile):
            raise InvalidRequest("Missing the 'file' field (a file).", param="file")
        if not isinstance(kind, str) or not kind:
            raise InvalidRequest("Missing the 'purpose' field.", param="purpose")
        seconds = form.get("expires_after[seconds]")
        anchor = form.get("expires_after[anchor]")
        ttl = _expires_after(
            seconds if isinstance(seconds, str) else None, anchor if isinstance(anchor, str) else None
        )
        fields = {name: value for name, value in form.items() if isinstance(value, str)}
        created = await services.files.upload(
            tenant, upload.filename or "upload", kind, _chunks(upload), ttl, quota
        )
    finally:
        await form.close()
    return created, fields


async def create_file(request: Request) -> Response:
    created, _ = await read_upload(request, await tenant_of(request))
    return Response(created.model_dump_json(), media_type=_JSON)


async def list_files(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    purpose = request.query_params.get("purpose") or None
    if purpose is not None and purpose not in LISTED_PURPOSES:
        raise InvalidRequest(f"Invalid purpose {purpose!r}.", param="purpose")
    listing = await services.files.list(
        tenant,
        purpose=purpose,
        after=request.query_params.get("after") or None,
        limit=int_param(request, "limit", 10_000, 1, 10_000),
        order=choice_param(request, "order", "desc", ("asc", "desc")),
    )
    return Response(listing.model_dump_json(), media_type=_JSON)


async def retrieve_file(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    record = await services.files.get(tenant, request.path_params["file_id"])
    return Response(file_object(record).model_dump_json(), media_type=_JSON)


async def delete_file(request: Request) -> Response:
    services = services_of(request)
    file_id = request.path_params["file_id"]
    tenant = (await tenant_of(request)).id
    await services.files.delete(tenant, file_id)
    return Response(FileDeleted(id=file_id).model_dump_json(), media_type=_JSON)


async def file_content(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    record, chunks = await services.files.content(tenant, request.path_params["file_id"])
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(record.bytes),
            "Content-Disposition": content_disposition(record.filename),
        },
    )
