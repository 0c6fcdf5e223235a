"""An eval as the OpenAI Evals API defines it: its name, metadata, data source config and testing
criteria, checked on create and update, and shown as the ``eval`` object.

Data source configs: ``custom`` (``item_schema``, a JSON Schema of a row's ``item``, and
``include_sample_schema``) is stored as OpenAI returns it: ``{type, schema}`` with the item schema under
``properties.item`` (and a ``sample`` schema when asked). ``logs`` and ``stored_completions`` select stored
traffic, which Jurist does not keep: a 400 naming ``data_source_config.type``."""

from __future__ import annotations

from collections.abc import Mapping

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from jurist.errors import InvalidRequest
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.store.eval_records import EvalRecord

MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512
MAX_NAME_CHARS = 1024
CREATE_FIELDS = frozenset({"name", "metadata", "data_source_config", "testing_criteria"})

# what a row's ``sample`` holds (a jsonl row's own sample, or the model's): OpenAI's sample namespace
SAMPLE_SCHEMA: JSONObject = {
    "type": "object",
    "properties": {
        "model": {"type": "string"},
        "choices": {"type": "array", "items": {"type": "object"}},
        "output_text": {"type": "string"},
        "output_json": {"type": "object"},
        "output_tools": {"type": "array", "items": {"type": "object"}},
        "output_audio": {"type": "object"},
    },
}


def check_metadata(value: object, param: str = "metadata") -> dict[str, str] | None:
    """OpenAI's metadata: at most 16 pairs, keys ≤ 64 characters, string values ≤ 512 (or null)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"{param} must be an object of string keys and values.", param=param)
    if len(value) > MAX_METADATA_PAIRS:
        raise InvalidRequest(f"{param} holds {len(value)} pairs; at most {MAX_METADATA_PAIRS}.", param=param)
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or len(key) > MAX_METADATA_KEY:
            raise InvalidRequest(
                f"{param} keys are strings of at most {MAX_METADATA_KEY} characters.", param=param
            )
        if not isinstance(item, str) or len(item) > MAX_METADATA_VALUE:
            raise InvalidRequest(
                f"{param}.{key} must be a string of at most {MAX_METADATA_VALUE} characters.",
                param=f"{param}.{key}",
            )
        out[key] = item
    return out


def check_name(value: object, param: str = "name") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_NAME_CHARS:
        raise InvalidRequest(f"{param} must be a string of at most {MAX_NAME_CHARS} characters.", param=param)
    return value


def data_source_config(value: object) -> JSONObject:
    """The stored form of a create request's ``data_source_config``."""
    param = "data_source_config"
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"{param} is required: an object with a type (custom).", param=param)
    kind = value.get("type")
    if kind in ("logs", "stored_completions"):
        raise InvalidRequest(
            f"data_source_config type {kind!r} selects stored traffic, which Jurist does not keep. Use a "
            "custom config (item_schema) and run it on a jsonl file, or sample with a completions run.",
            param=f"{param}.type",
        )
    if kind != "custom":
        raise InvalidRequest(f"{param}.type must be 'custom', got {kind!r}.", param=f"{param}.type")
    unknown = sorted(set(value) - {"type", "item_schema", "include_sample_schema"})
    if unknown:
        raise InvalidRequest(f"Unknown field {param}.{unknown[0]}.", param=f"{param}.{unknown[0]}")
    schema = value.get("item_schema")
    if not isinstance(schema, Mapping):
        raise InvalidRequest(
            f"{param}.item_schema must be a JSON Schema object.", param=f"{param}.item_schema"
        )
    try:
        Draft202012Validator.check_schema(dict(schema))
    except SchemaError as exc:
        raise InvalidRequest(
            f"{param}.item_schema is not a valid JSON Schema: {exc.message}", param=f"{param}.item_schema"
        ) from exc
    include = value.get("include_sample_schema", False)
    if not isinstance(include, bool):
        raise InvalidRequest(
            f"{param}.include_sample_schema must be a boolean.", param=f"{param}.include_sample_schema"
        )
    properties: JSONObject = {"item": dict(schema)}
    required: list[JsonValue] = ["item"]
    if include:
        properties["sample"] = SAMPLE_SCHEMA
        required.append("sample")
    return {"type": "custom", "schema": {"type": "object", "properties": properties, "required": required}}


def item_schema(config: Mapping[str, JsonValue]) -> JSONObject | None:
    """The JSON Schema a row's ``item`` must match (None: any object)."""
    schema = config.get("schema")
    if isinstance(schema, dict):
        properties = schema.get("properties")
        if isinstance(properties, dict) and isinstance(properties.get("item"), dict):
            item = properties["item"]
            return item if isinstance(item, dict) else None
    return None


def wants_sample(config: Mapping[str, JsonValue]) -> bool:
    """Whether the config's schema includes the ``sample`` namespace (rows or a model supply it)."""
    schema = config.get("schema")
    required = schema.get("required") if isinstance(schema, dict) else None
    return isinstance(required, list) and "sample" in required


def eval_object(record: EvalRecord) -> JSONObject:
    body = record.body
    return {
        "object": "eval",
        "id": record.id,
        "name": record.name,
        "data_source_config": body["data_source_config"],
        "testing_criteria": body["testing_criteria"],
        "created_at": record.created_at,
        "metadata": body.get("metadata"),
    }
