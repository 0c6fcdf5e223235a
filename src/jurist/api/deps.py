"""Per-request helpers: the services, the caller's tenant, and a size-limited JSON body."""

from __future__ import annotations

import orjson
from starlette.requests import Request

from jurist.composition import Services
from jurist.errors import AuthenticationFailed, InvalidJSON, InvalidRequest, PayloadTooLarge
from jurist.protocol.json_types import JSONObject
from jurist.service.auth import Tenant, is_admin


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def tenant_of(request: Request) -> Tenant:
    """The caller's tenant: 401 for a missing, unknown or revoked key, 403 for the admin key."""
    headers = request.headers
    auth = services_of(request).auth
    return await auth.authenticate(headers.get("authorization"), headers.get("x-on-behalf-of"))


def require_admin(request: Request) -> None:
    """The admin key (``JURIST_ADMIN_KEY``) or 401 (a tenant's key too: it is not looked up, so the
    answer tells nothing about it): the admin key manages keys and reads every tenant's usage."""
    admin = services_of(request).settings.admin_key
    if not is_admin(admin.get_secret_value() if admin else None, request.headers.get("authorization")):
        raise AuthenticationFailed(
            "This endpoint needs the admin key (JURIST_ADMIN_KEY)."
            if admin
            else "No admin key is configured: set JURIST_ADMIN_KEY to use the admin endpoints."
        )


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_object_body(request: Request, limit: int) -> JSONObject:
    """The body as a JSON object, whatever the Content-Type (curl's default is form-urlencoded)."""
    body = await read_body(request, limit)
    if not body.strip():
        raise InvalidJSON("The request body is empty; send a JSON object.")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(
            f"We could not parse the JSON body of your request ({exc}). Send valid JSON."
        ) from exc
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return data
