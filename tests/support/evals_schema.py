"""Validate Evals API answers against OpenAI's published schemas (reference/openai-evals.yaml).

Upstream sends ``null`` for some fields its schema types as arrays or objects (a new run's
``per_model_usage``, a sample's ``error``): as for batches (``openapi.validate_nullable``), top-level nulls of
fields that are not required are dropped before validating."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).parent / "openai-evals.yaml"
_URI = "urn:openai-evals"


@functools.cache
def _registry() -> Registry:
    spec = yaml.safe_load(SPEC_PATH.read_text("utf-8"))
    return Registry().with_resource(_URI, Resource(contents=spec, specification=DRAFT202012))


def schema(component: str) -> dict[str, Any]:
    found: dict[str, Any] = _registry().contents(_URI)["components"]["schemas"][component]
    return found


# required fields upstream itself sends as null (evals.md §6.4): present, and null or of their type
NULLABLE = {"EvalRun": {"error", "per_model_usage", "per_testing_criteria_results"}}


def validate(component: str, instance: dict[str, Any]) -> None:
    """Raise unless ``instance`` matches ``components.schemas.<component>`` (required fields present)."""
    required = set(schema(component).get("required", []))
    assert required <= set(instance), f"{component}: missing required fields {required - set(instance)}"
    nullable = {k for k in NULLABLE.get(component, set()) if instance.get(k, 0) is None}
    kept = {k: v for k, v in instance.items() if v is not None or (k in required and k not in nullable)}
    sample = kept.get("sample")
    if component == "EvalRunOutputItem" and isinstance(sample, dict) and sample.get("error") is None:
        kept["sample"] = {k: v for k, v in sample.items() if k != "error"}  # upstream's null error
        nullable.add("error")
    validator = Draft202012Validator(
        {"$ref": f"{_URI}#/components/schemas/{component}"}, registry=_registry()
    )
    for error in validator.iter_errors(kept):
        missing = error.validator == "required" and any(
            f"'{k}' is a required" in error.message for k in nullable
        )
        if not missing:
            raise error
