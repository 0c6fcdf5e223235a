"""Who is looking at a console page: the session cookie (HttpOnly, SameSite=Strict, the token only; the
database keeps its digest) names a ``ConsoleUser``. ``page`` wraps a handler that needs one: without a
session it redirects to sign-in; a state-changing request must echo the session's CSRF token (form field
``csrf`` or header ``X-CSRF-Token``); a ``JuristError`` becomes an HTML page with its status (another
tenant's batch is the same 404 page as a batch that does not exist)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from jurist.api.console.forms import close_form, read_form
from jurist.api.console.templating import pages_of
from jurist.api.deps import services_of
from jurist.errors import InvalidRequest, JuristError, PermissionDenied
from jurist.service.tenancy.auth import Tenant
from jurist.service.tenancy.console_sessions import ConsoleUser

COOKIE = "jurist_session"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
STALE_FORM = "The form's security token is missing or stale: reload the page."
Handler = Callable[[Request], Awaitable[Response]]


def set_session_cookie(request: Request, response: Response, token: str, seconds: int) -> None:
    response.set_cookie(
        COOKIE, token, max_age=seconds, path="/", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


async def console_user(request: Request) -> ConsoleUser | None:
    return await services_of(request).console_sessions.user(request.cookies.get(COOKIE))


def user_of(request: Request) -> ConsoleUser:
    user: ConsoleUser = request.state.console_user
    return user


def tenant_of_page(request: Request) -> Tenant:
    """The signed-in tenant; the admin's session has none (403 page)."""
    tenant = user_of(request).tenant
    if tenant is None:
        raise PermissionDenied("The admin key sees usage only: sign in with a tenant's key for this page.")
    return tenant


async def csrf_presented(request: Request) -> str | None:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/")
    ):
        form = await read_form(request)
        value = form.get("csrf")
        return value if isinstance(value, str) else None
    return None


def error_page(request: Request, error: JuristError) -> Response:
    response = pages_of(request).render(request, "error.html", status=error.status_code, error=error)
    if error.status_code in (408, 413):  # answered before the body was read: do not wait for the rest
        response.headers["Connection"] = "close"
    return response


def page(handler: Handler) -> Handler:
    """A console page or action for a signed-in user (see the module's docstring)."""

    @wraps(handler)
    async def wrapped(request: Request) -> Response:
        user = await console_user(request)
        if user is None:
            if request.method in SAFE:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/console/sign-in?next={quote(target, safe='')}", status_code=303)
            return error_page(request, JuristError("Your session has ended: sign in again.", status_code=401))
        request.state.console_user = user
        try:
            if request.method not in SAFE and not user.csrf_ok(await csrf_presented(request)):
                raise JuristError(
                    "The form's security token is missing or stale: reload the page.", status_code=403
                )
            return await handler(request)
        except JuristError as error:
            return error_page(request, error)
        finally:
            await close_form(request)  # a form read for its token
            await request.close()  # an uploaded file's temporary file

    return wrapped


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a console path only (never another site)."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/"


def bad(message: str, field: str) -> InvalidRequest:
    return InvalidRequest(message, param=field)
