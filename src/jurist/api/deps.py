"""Per-request helpers: the services, the caller's tenant, and a size-limited JSON body."""

from __future__ import annotations

import hashlib
import hmac

import orjson
from starlette.requests import Request

from jurist.composition import Services
from jurist.errors import AuthenticationFailed, InvalidJSON, InvalidRequest, PayloadTooLarge
from jurist.protocol.json_types import JSONObject
from jurist.service.tenancy.auth import Tenant, behalf_header, is_admin


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def tenant_of(request: Request) -> Tenant:
    """The caller's tenant: 401 for a missing, unknown or revoked key, 403 for the admin key, 400 for an
    ``X-On-Behalf-Of`` that names no sub-tenant (too long, control characters, not UTF-8, repeated)."""
    headers = request.headers
    auth = services_of(request).auth
    authorization = headers.get("authorization")
    try:
        behalf = behalf_header(headers.getlist("x-on-behalf-of"))
    except InvalidRequest:
        await auth.authenticate(authorization)  # a missing or wrong key is answered first (401)
        raise
    return await auth.authenticate(authorization, behalf)


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


def require_metrics_reader(request: Request) -> None:
    """``/metrics`` names every tenant and sub-tenant with its requests, tokens and cost: it needs the
    metrics token (``JURIST_METRICS_TOKEN``, Prometheus's ``bearer_token``) or the admin key, sent as
    ``Authorization: Bearer <token>``, else 401 (a tenant's key too: it is not looked up, so the answer
    tells nothing about it). With neither configured, no one reads it."""
    settings = services_of(request).settings
    configured = (settings.metrics_token, settings.admin_key)
    accepted = [s.get_secret_value() for s in configured if s is not None and s.get_secret_value()]
    if not accepted:
        raise AuthenticationFailed(
            "/metrics is closed: set JURIST_METRICS_TOKEN (and give it to Prometheus as its bearer "
            "token) or JURIST_ADMIN_KEY to read it."
        )
    scheme, _, token = (request.headers.get("authorization") or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationFailed(
            "/metrics needs the metrics token (JURIST_METRICS_TOKEN) or the admin key, sent as "
            "'Authorization: Bearer <token>'."
        )
    presented = hashlib.sha256(token.encode()).digest()
    matched = False
    for secret in accepted:  # no early exit; digests, so the comparison does not depend on lengths
        matched |= hmac.compare_digest(presented, hashlib.sha256(secret.encode()).digest())
    if not matched:
        raise AuthenticationFailed(
            "Incorrect token for /metrics: send the metrics token (JURIST_METRICS_TOKEN) or the admin key."
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
