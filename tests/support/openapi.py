"""Validate response bodies against OpenAI's official schemas (reference/openai-subset.yaml)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).parent / "openai-subset.yaml"
_URI = "urn:openai-subset"


@functools.cache
def _registry() -> Registry:
    spec = yaml.safe_load(SPEC_PATH.read_text("utf-8"))
    return Registry().with_resource(_URI, Resource(contents=spec, specification=DRAFT202012))


def validate_nullable(component: str, instance: dict[str, Any]) -> None:
    """Validate an object whose unset optional fields are sent as ``null``.

    OpenAI's real API (and the conformance checklist, MUST #13) sends every Batch field with ``null``
    for unset values, while the published schema types them as plain strings/integers; so top-level
    ``null``s of non-required fields are dropped before validating, and required ones must be present.
    """
    spec_required = set(_registry().contents(_URI)["components"]["schemas"][component].get("required", []))
    assert spec_required <= set(instance), f"missing required fields: {spec_required - set(instance)}"
    validate(component, {k: v for k, v in instance.items() if v is not None or k in spec_required})


def validate(component: str, instance: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``instance`` matches ``components.schemas.<component>``."""
    schema = {"$ref": f"{_URI}#/components/schemas/{component}"}
    Draft202012Validator(schema, registry=_registry()).validate(instance)


def schema_of(doc: dict[str, Any], method: str, path: str, status: int = 200) -> jsonschema.Validator:
    """The published schema of an operation's answer (``doc``: /openapi.json as served)."""
    schema = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator({**schema, "components": doc["components"]})


def check(doc: dict[str, Any], method: str, path: str, answer: Any, status: int = 200) -> None:
    """The answer (a ``RawResponse``) has the status and validates against its published schema."""
    assert answer.status == status, answer.body
    schema_of(doc, method, path, status).validate(answer.json())
