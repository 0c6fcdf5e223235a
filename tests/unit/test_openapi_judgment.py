"""/openapi.json describes Jurist's extensions next to OpenAI's schemas, and what Jurist writes
validates against them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from jurist.api.openapi import build_openapi

GOLDEN = json.loads((Path(__file__).parents[1] / "data" / "judgment_wire" / "golden.json").read_text())


def validator(doc: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return json.loads(build_openapi())


def test_the_extensions_sit_next_to_openais_schemas(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert {"JuristJudgment", "JuristJudgeItem", "SingleJudgment", "PairwiseJudgment", "Swap"} <= set(schemas)
    assert "CreateChatCompletionResponse" in schemas and "Batch" in schemas  # OpenAI's are all still there
    response = schemas["CreateChatCompletionResponse"]["properties"]["judgment"]
    assert response["anyOf"][0] == {"$ref": "#/components/schemas/JuristJudgment"}
    extension = schemas["CreateChatCompletionRequest"]["allOf"][-1]["properties"]
    assert extension["judge"]["$ref"] == "#/components/schemas/JuristJudgeItem"


@pytest.mark.parametrize("name", sorted(k for k in GOLDEN if ":" not in k))
def test_every_written_judgment_validates_against_the_published_schema(
    doc: dict[str, Any], name: str
) -> None:
    validator(doc, "JuristJudgment").validate(json.loads(GOLDEN[name])["judgment"])


def test_the_schema_refuses_what_is_not_a_judgment(doc: dict[str, Any]) -> None:
    check = validator(doc, "JuristJudgment")
    judgment = json.loads(GOLDEN["pair"])["judgment"]
    assert not check.is_valid({**judgment, "mode": "triple"})
    assert not check.is_valid({**judgment, "winner": "response_3"})
    assert not check.is_valid({**judgment, "scores": {"response_1": "four"}})
    assert validator(doc, "JuristJudgeItem").is_valid({"mode": "single", "question": "q", "answer": "a"})
    assert not validator(doc, "JuristJudgeItem").is_valid({"mode": "single", "question": "q"})
