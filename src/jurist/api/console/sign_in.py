"""Signing in and out, and the way in: ``/`` and ``/console/`` lead to the console's first page.

The sign-in form is protected against login CSRF by a double-submit token (a random cookie, HttpOnly and
SameSite=Strict, echoed by the form); a wrong or revoked key shows the form again with the reason."""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from jurist.api.console.forms import read_form
from jurist.api.console.session import (
    COOKIE,
    clear_session_cookie,
    console_user,
    error_page,
    page,
    safe_next,
    set_session_cookie,
)
from jurist.api.console.templating import pages_of
from jurist.api.deps import services_of
from jurist.errors import JuristError

SIGN_IN_COOKIE = "jurist_sign_in"
HOME = "/console/batches"


async def root(request: Request) -> Response:
    return RedirectResponse("/console/", status_code=307)


async def home(request: Request) -> Response:
    user = await console_user(request)
    if user is None:
        return RedirectResponse("/console/sign-in", status_code=303)
    return RedirectResponse("/console/usage" if user.admin else HOME, status_code=303)


def _form(request: Request, status: int = 200, error: str | None = None, on_behalf_of: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    response = pages_of(request).render(
        request, "sign_in.html", status=status, error=error, form_token=token,
        next=safe_next(request.query_params.get("next")), on_behalf_of=on_behalf_of,
    )  # fmt: skip
    response.set_cookie(
        SIGN_IN_COOKIE, token, max_age=3600, path="/console/sign-in", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


async def sign_in_form(request: Request) -> Response:
    return _form(request)


async def sign_in(request: Request) -> Response:
    try:
        form = await read_form(request)
    except JuristError as error:  # too large (413, before it is read), too slow or malformed
        return error_page(request, error)
    key, behalf = str(form.get("api_key") or ""), str(form.get("on_behalf_of") or "")
    expected, presented = request.cookies.get(SIGN_IN_COOKIE, ""), str(form.get("form_token") or "")
    if not expected or not hmac.compare_digest(expected.encode(), presented.encode()):
        return _form(request, 403, "The sign-in form expired: try again.", behalf)
    sessions = services_of(request).console_sessions
    try:
        token, _ = await sessions.sign_in(key, behalf)
    except JuristError as error:
        return _form(request, error.status_code, error.message, behalf)
    response = RedirectResponse(safe_next(str(form.get("next") or "")), status_code=303)
    set_session_cookie(request, response, token, sessions.seconds)
    response.delete_cookie(SIGN_IN_COOKIE, path="/console/sign-in")
    return response


@page
async def sign_out(request: Request) -> Response:
    await services_of(request).console_sessions.sign_out(request.cookies.get(COOKIE))
    response = RedirectResponse("/console/sign-in", status_code=303)
    clear_session_cookie(response)
    return response
