"""The one place a chat-completions body becomes a validated request: ``POST /v1/chat/completions``,
batch lines (at validation and when they run), ``jurist run`` and ``jurist eval`` all call
``parse_chat_request``.

A judge item can come in three forms, all equivalent:

1. PAI's content part: ``{"type": "json", "mode": "pairwise", "json": {...item...}}``;
2. a standard text part (or a string content) whose text is a JSON object with ``mode`` —
   ``{"type": "text", "text": "{\\"mode\\": \\"pairwise\\", \\"question\\": ...}"}`` — for strict
   OpenAI clients (LiteLLM's SDK refuses PAI's part before sending);
3. a top-level ``judge`` field, ``{"mode": "pairwise", "question": ...}`` (what ``extra_body`` sends).

One item per request. A body without one is a custom template, sent to the judge model as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from jurist.errors import InvalidRequest
from jurist.protocol.chat import ChatCompletionRequest, ChatMessage
from jurist.protocol.items import MODES, JudgeItem, PairwiseItem, SingleItem, item_in_text
from jurist.protocol.json_types import JSONObject
from jurist.service.validation import first_error


def parse_chat_request(body: Any, prefix: str = "") -> ChatCompletionRequest:
    """Validate a chat-completions body (a parsed JSON object); ``InvalidRequest`` names the field.
    ``prefix`` is put before every ``param`` (``body`` for a batch line)."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.", param=prefix or None)
    try:
        request = ChatCompletionRequest.model_validate(body)
    except ValidationError as exc:
        message, param = first_error(exc, prefix)
        raise InvalidRequest(message, param=param) from exc
    request._source = body
    found = _content_items(request.messages, prefix)
    if request.judge is not None:
        top = _join(prefix, "judge")
        found.insert(0, _Found(request.judge, top, top))
    if len(found) > 1:
        raise InvalidRequest(
            "Only one judge item is allowed per request (a content part with 'mode', a text part "
            "holding one, or the 'judge' field).",
            param=found[1].location,
        )
    if found:
        found[0].item.located(found[0].fields)
        request.judge = found[0].item
    return request


@dataclass(frozen=True)
class _Found:
    item: JudgeItem
    location: str  # the part (or field) that holds the item
    fields: str  # where its fields are: the part's ``json``, its ``text``, or ``judge``


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _content_items(messages: list[ChatMessage], prefix: str) -> list[_Found]:
    found: list[_Found] = []
    for i, message in enumerate(messages):
        content = message.content
        if isinstance(content, str):
            fields = item_in_text(content)
            if fields is not None:
                where = _join(prefix, f"messages[{i}].content")
                found.append(_Found(_item(fields, where), where, where))
            continue
        for j, part in enumerate(content or ()):
            if part.mode is not None:
                at = _join(prefix, f"messages[{i}].content[{j}]")
                found.append(_Found(_pai_part(part.mode, part.json_, at), at, f"{at}.json"))
            elif part.type == "text" and part.text is not None:
                fields = item_in_text(part.text)
                if fields is not None:
                    at = _join(prefix, f"messages[{i}].content[{j}]")
                    found.append(_Found(_item(fields, f"{at}.text"), at, f"{at}.text"))
    return found


def _pai_part(mode: str, fields: JSONObject | None, where: str) -> JudgeItem:
    if mode not in MODES:
        raise InvalidRequest(
            f"Unknown judge mode {mode!r}; use 'single' or 'pairwise'.", param=f"{where}.mode"
        )
    if fields is None:
        raise InvalidRequest(
            f"A '{mode}' judge item needs a 'json' object with the fields to judge.", param=f"{where}.json"
        )
    return _item({**fields, "mode": mode}, f"{where}.json")


def _item(fields: JSONObject, where: str) -> JudgeItem:
    cls: type[SingleItem] | type[PairwiseItem] = SingleItem if fields["mode"] == "single" else PairwiseItem
    try:
        return cls.model_validate(fields)
    except ValidationError as exc:
        message, param = first_error(exc, where)
        raise InvalidRequest(message, param=param) from exc
