"""``GET /openapi.json``: OpenAI's own schemas for the endpoints Jurist serves, with Jurist's extensions
described next to them — the typed ``judgment`` on chat completions (and on the last stream chunk),
and the request's ``judge`` item and ``cache`` switch — and Jurist's own endpoints (``openapi_jurist``).
The document is built once per app."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response

from jurist.api.openapi_jurist import add_operations
from jurist.protocol.items import TaggedJudgeItem
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.protocol.judgment import Judgment

_REF = "#/components/schemas/{model}"
_JUDGMENT = "JuristJudgment"
_JUDGE_ITEM = "JuristJudgeItem"


def _object(value: JsonValue) -> JSONObject:
    if not isinstance(value, dict):
        raise TypeError("the packaged OpenAPI document is not what Jurist expects")
    return value


def _extension(adapter: TypeAdapter[Any], schemas: JSONObject, name: str) -> None:
    schema = adapter.json_schema(mode="validation", ref_template=_REF)
    defs = schema.pop("$defs", {})
    clash = (set(defs) | {name}) & set(schemas)
    if clash:
        raise RuntimeError(f"Jurist's schemas would replace OpenAI's: {sorted(clash)}")
    schemas.update(defs)
    schemas[name] = schema


def build_openapi() -> bytes:
    """The packaged OpenAI document plus Jurist's extension schemas and its own endpoints."""
    doc = _object(json.loads(files("jurist.api").joinpath("openapi.json").read_bytes()))
    add_operations(doc)
    schemas = _object(_object(doc["components"])["schemas"])
    _extension(TypeAdapter(Judgment), schemas, _JUDGMENT)
    _extension(TypeAdapter(TaggedJudgeItem), schemas, _JUDGE_ITEM)
    judgment: JSONObject = {
        "anyOf": [{"$ref": _REF.format(model=_JUDGMENT)}, {"type": "null"}],
        "description": "Jurist: the structured verdict (null for a custom template).",
    }
    for name in ("CreateChatCompletionResponse", "CreateChatCompletionStreamResponse"):
        _object(_object(schemas[name])["properties"])["judgment"] = judgment
    extended = _object(schemas["CreateChatCompletionRequest"])["allOf"]
    if not isinstance(extended, list):
        raise TypeError("the packaged OpenAPI document is not what Jurist expects")
    extended.append(
        {
            "type": "object",
            "description": "Jurist's extensions of the request.",
            "properties": {
                "judge": {
                    "$ref": _REF.format(model=_JUDGE_ITEM),
                    "description": "The judge item as a top-level field (one of three equivalent forms).",
                },
                "cache": {"type": "boolean", "description": "false: bypass the judge cache."},
            },
        }
    )
    return json.dumps(doc, ensure_ascii=False).encode()


async def openapi(request: Request) -> Response:
    """The OpenAPI document (built at start-up, see ``create_app``)."""
    return Response(request.app.state.openapi, media_type="application/json")
