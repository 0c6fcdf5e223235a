"""Validate response bodies against OpenAI's official schemas (reference/openai-subset.yaml)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

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


def validate(component: str, instance: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``instance`` matches ``components.schemas.<component>``."""
    schema = {"$ref": f"{_URI}#/components/schemas/{component}"}
    Draft202012Validator(schema, registry=_registry()).validate(instance)
