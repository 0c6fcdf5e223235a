"""``/console/api``: the API reference, rendered on the server from the app's ``/openapi.json`` (as built
at start-up: OpenAI's endpoints with Jurist's extensions, and Jurist's own), offline (nothing from a
CDN), with the seed's curl and Python SDK examples (``examples.json``, copied from the PAI documentation)
shown against this server's URL."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cache
from importlib.resources import files

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response

from jurist.api.console.openapi_view import Example, Tag, featured, reference
from jurist.api.console.session import page
from jurist.api.console.templating import pages_of
from jurist.protocol.json_types import JSONObject

JURIST_SCHEMAS = ("JuristJudgeItem", "JuristJudgment")


@dataclass(frozen=True)
class SeedExamples:
    """``examples.json``: the seed's calls, written against ``base_url``, and where they come from."""

    source: str
    seed: str
    base_url: str
    note: str
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class DocInfo:
    """The OpenAPI document's ``info``: what the page's heading names."""

    title: str
    version: str

    @classmethod
    def of(cls, doc: JSONObject) -> DocInfo:
        info = doc.get("info")
        found: JSONObject = info if isinstance(info, dict) else {}
        return cls(str(found.get("title", "Jurist")), str(found.get("version", "")))


@cache
def seed_examples() -> SeedExamples:
    text = files("jurist.api.console").joinpath("examples.json").read_text("utf-8")
    return TypeAdapter(SeedExamples).validate_json(text)


def with_base_url(examples: SeedExamples, base_url: str) -> list[Example]:
    """The seed's examples, their base URL replaced by this server's."""
    old = examples.base_url
    return [replace(e, code=e.code.replace(old, base_url)) for e in examples.examples]


@cache
def _document(raw: bytes) -> JSONObject:
    found = json.loads(raw)
    return found if isinstance(found, dict) else {}


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
        source=seeds.source,
        base_url=base_url,
        info=DocInfo.of(doc),
    )
