"""Validating a batch input file line by line (streamed: memory flat in file size)."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from jurist.protocol.json_types import JSONObject
from jurist.store.records import RequestLine

MAX_REPORTED_ERRORS = 1000


@dataclass(frozen=True)
class ValidLine:
    """A line that passed validation, with its body still parsed (cache keys are computed from it)."""

    line: int
    custom_id: str
    model: str
    body: JSONObject

    def queued(self) -> RequestLine:
        return RequestLine(self.line, self.custom_id, self.model, orjson.dumps(self.body).decode())


@dataclass
class LineValidator:
    """Checks each line as OpenAI's batch validation does; errors carry 1-based line numbers."""

    endpoint: str
    models: frozenset[str]
    max_lines: int
    errors: list[JSONObject] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    used_models: list[str] = field(default_factory=list)
    count: int = 0
    _too_many: bool = False

    def _error(self, line: int | None, code: str, message: str, param: str | None = None) -> None:
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"code": code, "message": message, "param": param, "line": line})

    def check(self, number: int, raw: bytes) -> ValidLine | None:
        if not raw.strip():
            return None
        self.count += 1
        if self.count > self.max_lines:
            if not self._too_many:
                self._too_many = True
                self._error(number, "too_many_tasks", f"The file has more than {self.max_lines} requests.")
            return None
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self._error(number, "invalid_json_line", "This line is not parseable as valid JSON.")
            return None
        if not isinstance(data, dict):
            self._error(number, "invalid_request", "Each line must be a JSON object.")
            return None
        custom_id = data.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            self._error(
                number, "missing_required_parameter", "Missing or non-string 'custom_id'.", "custom_id"
            )
            return None
        body = data.get("body")
        if not isinstance(body, dict):
            self._error(number, "missing_required_parameter", "Missing or non-object 'body'.", "body")
            return None
        method = data.get("method", "POST")
        if method != "POST":
            self._error(number, "invalid_request", "Only method 'POST' is supported.", "method")
            return None
        url = data.get("url", self.endpoint)
        if url != self.endpoint:
            self._error(
                number,
                "invalid_url",
                f"URL {url!r} does not match the batch endpoint {self.endpoint!r}.",
                "url",
            )
            return None
        if custom_id in self.seen:
            self._error(number, "duplicate_custom_id", f"The custom_id {custom_id!r} is used more than once.")
            return None
        self.seen.add(custom_id)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            self._error(number, "missing_required_parameter", "The body has no 'model'.", "body.model")
            return None
        if model not in self.models:
            self._error(number, "model_not_found", f"The model '{model}' does not exist.", "body.model")
            return None
        if body.get("stream") is True:
            self._error(number, "streaming_unsupported", "Batch requests cannot stream.", "body.stream")
            return None
        if model not in self.used_models:
            self.used_models.append(model)
        return ValidLine(number, custom_id, model, body)

    def finish(self) -> list[JSONObject]:
        if self.count == 0 and not self.errors:
            self._error(None, "empty_file", "The input file has no requests.")
        return self.errors
