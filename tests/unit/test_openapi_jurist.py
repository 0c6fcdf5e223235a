"""Jurist's own endpoints in /openapi.json: tags, the admin key's security, typed request and answer
schemas from the pydantic models; a schema name of OpenAI's or a path twice is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from jurist.api.openapi import build_openapi
from jurist.api.openapi_jurist import OPERATIONS, Op, add_operations
from jurist.evaluation.agreement import CriterionAgreement

REF = "#/components/schemas/"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return json.loads(build_openapi())


def test_each_operation_has_a_tag_and_the_admin_ones_the_admin_key(doc: dict[str, Any]) -> None:
    for op in OPERATIONS:
        found = doc["paths"][op.path][op.method]
        assert found["tags"] == [op.tag] and found["operationId"] == op.operation_id
        assert found.get("security") == ([{"AdminApiKeyAuth": []}] if op.path.startswith("/admin") else None)
    ids = [op.operation_id for op in OPERATIONS]
    assert len(set(ids)) == len(ids)
    assert doc["components"]["securitySchemes"]["AdminApiKeyAuth"]["scheme"] == "bearer"


def test_schemas_come_from_the_models(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    agreement = doc["paths"]["/batches/{batch_id}/agreement"]["get"]
    assert agreement["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": REF + "Agreement"
    }
    assert [p["name"] for p in agreement["parameters"]] == ["batch_id", "bootstrap", "seed"]
    assert schemas["CriterionAgreement"] == CriterionAgreement.model_json_schema(mode="serialization")
    assert schemas["ModeAgreement"]["properties"]["criteria"]["items"] == {"$ref": REF + "CriterionAgreement"}
    key = doc["paths"]["/admin/keys"]["post"]
    assert key["requestBody"]["content"]["application/json"]["schema"] == {"$ref": REF + "KeyCreate"}
    assert set(key["responses"]) == {"201", "default"}
    assert schemas["LabelInput"]["properties"]["criteria"]["anyOf"][0]["additionalProperties"] == {
        "anyOf": [{"type": "integer"}, {"type": "null"}]
    }
    report = doc["paths"]["/batches/{batch_id}/report"]["get"]["responses"]["200"]["content"]
    assert set(report) == {"application/json", "text/html"}
    assert report["application/json"]["schema"] == {"$ref": REF + "BatchReport"}
    sections = {"agreement", "confidence", "selective", "cascade"}
    assert sections | {"batch", "lines"} <= set(schemas["BatchReport"]["properties"])
    assert not sections & set(schemas["BatchReport"]["required"])  # left out when absent
    delete = doc["paths"]["/batches/{batch_id}/labels/{custom_id}"]["delete"]["parameters"]
    assert [(p["name"], p["in"]) for p in delete] == [
        ("batch_id", "path"),
        ("custom_id", "path"),
        ("annotator", "query"),
    ]


def test_openais_schemas_and_paths_are_not_replaced() -> None:
    class Batch(BaseModel):  # OpenAI's Batch is another schema
        id: str

    base = json.loads(build_openapi())
    with pytest.raises(RuntimeError, match="Batch"):
        add_operations(base, (Op("get", "/other", "other", "X", "Other.", Batch),))
    with pytest.raises(RuntimeError, match="twice"):
        add_operations(base, (OPERATIONS[0],))
