"""``/console/api``: the API reference, rendered on the server from the app's ``/openapi.json`` (as built
at start-up: OpenAI's endpoints with Jurist's extensions, and Jurist's own), offline (nothing from a
CDN), with the seed's curl and Python SDK examples (``examples.json``, copied from the PAI documentation)
shown against this server's URL."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from jurist.api.console.openapi_view import Tag, featured, reference
from jurist.api.console.session import page
from jurist.api.console.templating import pages_of

JURIST_SCHEMAS = ("JuristJudgeItem", "JuristJudgment")


@cache
def seed_examples() -> dict[str, Any]:
    found: dict[str, Any] = json.loads(
        files("jurist.api.console").joinpath("examples.json").read_text("utf-8")
    )
    return found


def with_base_url(examples: dict[str, Any], base_url: str) -> list[dict[str, Any]]:
    """The seed's examples, their base URL replaced by this server's."""
    old = str(examples["base_url"])
    return [{**e, "code": str(e["code"]).replace(old, base_url)} for e in examples["examples"]]


@cache
def _document(raw: bytes) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(raw)
    return found


@page
async def api_reference(request: Request) -> Response:
    doc = _document(request.app.state.openapi)
    seeds = seed_examples()
    base_url = str(request.base_url).rstrip("/") + "/v1"
    examples = with_base_url(seeds, base_url)
    tags: list[Tag] = reference(doc, examples)
    return pages_of(request).render(
        request,
        "api.html",
        section="api",
        tags=tags,
        schemas=featured(doc, JURIST_SCHEMAS),
        examples=examples,
        source=seeds["source"],
        base_url=base_url,
        info=doc.get("info", {}),
    )
