"""The one way the console reads a posted form (``read_form``): size-capped before it is read (a
declared Content-Length over the cap is a 413 at once; a chunked body is counted as it streams and cut
at the cap), each piece of the body awaited ``READ_TIMEOUT`` seconds at most, at most one file, inside
the cap (a batch upload whose CSRF token came in the form, not its header, is read for the token and
refused; the console's batch upload goes through ``api.files.read_upload`` and its file limits), and a
malformed form a 400.

Caps: ``FORM_BYTES`` (64 KiB: sign-in, sign-out, cancel, a label); the playground's judge form, which
carries the texts to judge, the API's ``max_request_bytes`` (as ``POST /v1/chat/completions``). The form
is kept for the request (the session's CSRF check and the handler read it once) and closed by
``close_form``."""

from __future__ import annotations

import asyncio

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message

from jurist.api.deps import services_of
from jurist.api.read_timeouts import READ_TIMEOUT
from jurist.errors import InvalidRequest, JuristError, PayloadTooLarge

FORM_BYTES = 64 * 1024
MAX_FIELDS = 50
LARGE_FORMS = frozenset({"/console/playground"})  # paths whose form is capped at max_request_bytes
CLOSE = {"Connection": "close"}  # an answer before the body is read: the rest is not waited for
_STATE = "console_form"


def form_limit(request: Request) -> int:
    """The most bytes ``request``'s form may have."""
    limit = services_of(request).settings.max_request_bytes
    return limit if request.url.path in LARGE_FORMS else min(FORM_BYTES, limit)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The form is larger than the limit of {limit} bytes.")


def check_declared_length(request: Request, limit: int) -> None:
    """413 before anything is read when the declared Content-Length is over ``limit``."""
    declared = request.headers.get("content-length", "").strip()
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        raise _too_large(limit)


def _bounded(request: Request, limit: int) -> Request:
    """The same request, whose body stops with 413 past ``limit`` bytes and with a timeout (408) when a
    piece of it takes more than ``READ_TIMEOUT`` seconds."""
    seen = 0
    receive = request.receive

    async def counting() -> Message:
        nonlocal seen
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                message = await receive()
        except TimeoutError:
            raise JuristError("The form arrived too slowly.", status_code=408) from None
        seen += len(message.get("body", b""))
        if seen > limit:
            raise _too_large(limit)
        return message

    return Request(request.scope, counting)


async def read_form(request: Request) -> FormData:
    """``request``'s form, within the limits (see the module's docstring): ``PayloadTooLarge`` (413),
    ``InvalidRequest`` (400, malformed) or ``JuristError`` (408, too slow) otherwise."""
    found = getattr(request.state, _STATE, None)
    if isinstance(found, FormData):
        return found
    limit = form_limit(request)
    check_declared_length(request, limit)
    try:
        form = await _bounded(request, limit).form(max_files=1, max_fields=MAX_FIELDS, max_part_size=limit)
    except (MultiPartException, HTTPException) as exc:  # HTTPException: starlette's 400 for a bad form
        detail = exc.message if isinstance(exc, MultiPartException) else exc.detail
        raise InvalidRequest(f"Could not read the form: {detail}") from exc
    except ClientDisconnect:
        raise InvalidRequest("The client went away before the form was read.") from None
    setattr(request.state, _STATE, form)
    return form


async def close_form(request: Request) -> None:
    """Close the form ``read_form`` kept for ``request`` (if any)."""
    found = getattr(request.state, _STATE, None)
    if isinstance(found, FormData):
        await found.close()
