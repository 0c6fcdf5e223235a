"""A run's data source: where its rows come from, and for a ``completions`` run how each row is sampled.

- ``jsonl``: rows ``{"item": {...}, "sample": {...}?}`` inline (``source.type: file_content``) or in an
  uploaded JSONL file (``file_id``, purpose ``evals``). No model is called; ``{{sample.…}}`` reads the
  row's own sample.
- ``completions``: each row's ``item`` is sent to ``model`` (any configured model) as chat messages, from
  ``input_messages`` (a ``template`` rendered against the row, or an ``item_reference`` to a message list
  in it), with ``sampling_params`` (temperature, top_p, seed, max_completion_tokens, response_format);
  the answer is the row's sample.
- ``responses``: refused (400): Jurist serves the Chat Completions API; a ``completions`` run samples the
  same models. ``stored_completions`` / ``responses`` sources select stored traffic Jurist does not keep.

A row that is not an object with an object ``item`` is not refused: it becomes an errored output item
with the reason, as does a row whose item does not match the eval's item schema."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import orjson

from jurist.errors import InvalidRequest
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.service.evals.criteria import check_messages

SAMPLING_KEYS = ("temperature", "top_p", "seed", "max_completion_tokens", "response_format")
MAX_ROWS = 50_000


@dataclass(frozen=True)
class Row:
    index: int
    data: JsonValue  # the row as given: {"item": ..., "sample": ...?} when well-formed


def check_data_source(value: object, models: Collection[str]) -> JSONObject:
    """The run's ``data_source``, checked (a 400 naming the field), as it will be echoed."""
    where = "data_source"
    if not isinstance(value, dict):
        raise InvalidRequest(
            "data_source is required: an object with a type (jsonl or completions).", param=where
        )
    kind = value.get("type")
    if kind == "responses":
        raise InvalidRequest(
            "data_source type 'responses' samples through the Responses API, which Jurist does not serve; "
            "use type 'completions' (the same models, through Chat Completions).",
            param=f"{where}.type",
        )
    if kind not in ("jsonl", "completions"):
        raise InvalidRequest(
            f"{where}.type must be 'jsonl' or 'completions', got {kind!r}.", param=f"{where}.type"
        )
    source = value.get("source")
    if not isinstance(source, dict):
        raise InvalidRequest(f"{where}.source is required.", param=f"{where}.source")
    stype = source.get("type")
    if stype == "file_content":
        if not isinstance(source.get("content"), list):
            raise InvalidRequest(
                f"{where}.source.content must be a list of rows.", param=f"{where}.source.content"
            )
    elif stype == "file_id":
        if not isinstance(source.get("id"), str) or not source.get("id"):
            raise InvalidRequest(f"{where}.source.id must name a file.", param=f"{where}.source.id")
    elif stype in ("stored_completions", "responses"):
        raise InvalidRequest(
            f"{where}.source type {stype!r} selects stored traffic, which Jurist does not keep; "
            "send the rows as file_content or an uploaded file (file_id).",
            param=f"{where}.source.type",
        )
    else:
        raise InvalidRequest(
            f"{where}.source.type must be 'file_content' or 'file_id', got {stype!r}.",
            param=f"{where}.source.type",
        )
    if kind == "completions":
        _check_completions(value, models)
    return dict(value)


def _check_completions(value: Mapping[str, JsonValue], models: Collection[str]) -> None:
    where = "data_source"
    model = value.get("model")
    if not isinstance(model, str) or model not in models:
        raise InvalidRequest(
            f"{where}.model must name a configured model (available: {', '.join(sorted(models))}).",
            param=f"{where}.model",
        )
    messages = value.get("input_messages")
    if not isinstance(messages, dict):
        raise InvalidRequest(
            f"{where}.input_messages is required for a completions run.", param=f"{where}.input_messages"
        )
    if messages.get("type") == "template":
        check_messages(messages.get("template"), f"{where}.input_messages.template")
    elif messages.get("type") == "item_reference":
        reference = messages.get("item_reference")
        if not isinstance(reference, str) or not reference.startswith("item."):
            raise InvalidRequest(
                f"{where}.input_messages.item_reference must be a path such as 'item.messages'.",
                param=f"{where}.input_messages.item_reference",
            )
    else:
        raise InvalidRequest(
            f"{where}.input_messages.type must be 'template' or 'item_reference'.",
            param=f"{where}.input_messages.type",
        )
    params = value.get("sampling_params")
    if params is not None and not isinstance(params, dict):
        raise InvalidRequest(f"{where}.sampling_params must be an object.", param=f"{where}.sampling_params")


def sampling_params(data_source: Mapping[str, JsonValue]) -> JSONObject:
    """The chat body fields a completions run samples with (``max_completions_tokens`` accepted too)."""
    params = data_source.get("sampling_params")
    out: JSONObject = {}
    if isinstance(params, dict):
        for key in SAMPLING_KEYS:
            if params.get(key) is not None:
                out[key] = params[key]
        if "max_completion_tokens" not in out and params.get("max_completions_tokens") is not None:
            out["max_completion_tokens"] = params["max_completions_tokens"]
    return out


def rows_of_lines(lines: list[bytes]) -> list[Row]:
    """The rows of a JSONL file (a line that is not JSON is kept as an error row)."""
    rows: list[Row] = []
    for raw in lines:
        if not raw.strip():
            continue
        try:
            data: JsonValue = orjson.loads(raw)
        except orjson.JSONDecodeError:
            data = {"error": "this line of the file is not valid JSON"}
        rows.append(Row(len(rows), data))
    return rows


def rows_of_content(content: list[JsonValue]) -> list[Row]:
    return [Row(i, data) for i, data in enumerate(content)]
