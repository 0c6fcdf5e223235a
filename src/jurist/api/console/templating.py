"""The console's pages: Jinja2 templates from the package (``templates/``), every value escaped
(autoescape on for all of them: a caller's answer holding ``<script>`` is text on the page), and the
headers every page carries (a strict Content-Security-Policy: scripts only from ``/console/static``)."""

from __future__ import annotations

from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

# Pages run only the console's own scripts; no inline script, no plugin, no framing by other sites.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _json_attr(value: Any) -> Markup:
    """A value as JSON for a ``data-*`` attribute (escaped by the attribute, read by the page's script)."""
    return Markup.escape(orjson.dumps(value).decode())


class ConsolePages:
    """The template environment, built once per app (``app.state.console``)."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("jurist.api.console", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["json_attr"] = _json_attr

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        user = getattr(request.state, "console_user", None)
        context.setdefault("section", None)  # the navigation's current entry
        html = self.env.get_template(template).render(request=request, user=user, **context)
        return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def pages_of(request: Request) -> ConsolePages:
    pages: ConsolePages = request.app.state.console
    return pages
