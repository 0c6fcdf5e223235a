"""The one place a chat-completions body becomes a validated request: ``POST /v1/chat/completions``,
batch lines when they run, ``jurist run`` and ``jurist eval`` all call ``parse_chat_request``.

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
from jurist.protocol.chat import ChatCompletionRequest
from jurist.protocol.items import MODES, ItemSite, JudgeItem, PairwiseItem, SingleItem, message_items
from jurist.protocol.json_types import JSONObject
from jurist.service.validation import first_error


def parse_chat_request(body: Any) -> ChatCompletionRequest:
    """Validate a chat-completions body (a parsed JSON object); ``InvalidRequest`` names the field."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    try:
        request = ChatCompletionRequest.model_validate(body)
    except ValidationError as exc:
        message, param = first_error(exc)
        raise InvalidRequest(message, param=param) from exc
    request._source = body
    found = [
        _Found(_site_item(site), site.location, site.fields_at) for site in message_items(body["messages"])
    ]
    if request.judge is not None:
        found.insert(0, _Found(request.judge, "judge", "judge"))
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


def _site_item(site: ItemSite) -> JudgeItem:
    if site.mode not in MODES:
        raise InvalidRequest(
            f"Unknown judge mode {site.mode!r}; use 'single' or 'pairwise'.", param=f"{site.location}.mode"
        )
    if site.fields is None:
        raise InvalidRequest(
            f"A '{site.mode}' judge item needs a 'json' object with the fields to judge.",
            param=site.fields_at,
        )
    return _item(site.fields, site.fields_at)


def _item(fields: JSONObject, where: str) -> JudgeItem:
    cls: type[SingleItem] | type[PairwiseItem] = SingleItem if fields["mode"] == "single" else PairwiseItem
    try:
        return cls.model_validate(fields)
    except ValidationError as exc:
        message, param = first_error(exc, where)
        raise InvalidRequest(message, param=param) from exc
