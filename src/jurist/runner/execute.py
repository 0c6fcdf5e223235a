"""Running one batch line through the same code path as POST /v1/chat/completions."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from jurist.errors import (
    BackendError,
    InvalidJSON,
    JuristError,
    ModelUnavailable,
    RateLimited,
    UpstreamPaused,
)
from jurist.ids import new_id, request_id
from jurist.runner.ports import EvalLines
from jurist.service.judging.pipeline import ChatService
from jurist.service.judging.requests import parse_chat_request
from jurist.store.records import ClaimedRequest, RequestResult
from jurist.store.usage import completion_usage


@dataclass(frozen=True)
class Retry:
    """A retryable failure: run the line again after ``delay`` seconds; ``refund``: without counting
    the attempt (the upstream was paused or rate-limited, or the embedded model's process died and is
    restarting: not the line at fault)."""

    delay: float
    error: JuristError
    refund: bool = False


def output_line(custom_id: str, rid: str, status: int, body: object) -> str:
    line = {
        "id": new_id("batch_req_", 12),
        "custom_id": custom_id,
        "response": {"status_code": status, "request_id": rid, "body": body},
        "error": None,
    }
    return orjson.dumps(line).decode()


def output_line_bytes(line_id: str, custom_id: str, rid: str, status: int, body_json: bytes) -> bytes:
    """``output_line`` for a body that is already JSON (a cached completion), without re-parsing it."""
    head = orjson.dumps({"id": line_id, "custom_id": custom_id})[:-1]
    response = b',"response":{"status_code":%d,"request_id":%s,"body":' % (status, orjson.dumps(rid))
    return head + response + body_json + b'},"error":null}'


def _retryable(error: JuristError) -> bool:
    return isinstance(error, RateLimited) or (isinstance(error, BackendError) and error.retryable)


def _upstream_waits(error: JuristError) -> bool:
    if isinstance(error, ModelUnavailable):
        return error.restarting  # a failed model is the line's failure like any other (attempts count)
    return isinstance(error, (RateLimited, UpstreamPaused))


def backoff(attempt: int, base: float, error: JuristError) -> float:
    if isinstance(error, (RateLimited, UpstreamPaused, ModelUnavailable)) and error.retry_after:
        return float(error.retry_after)
    return float(min(60.0, base * (2 ** max(0, attempt - 1))))


async def execute_line(
    chat: ChatService,
    claimed: ClaimedRequest,
    max_attempts: int,
    retry_base: float,
    evals: EvalLines | None = None,
) -> RequestResult | Retry:
    """The line's result: a chat completion, or for an eval run's line (``evals``) its graded row."""
    rid = request_id()
    try:
        try:
            raw = orjson.loads(claimed.body)
        except orjson.JSONDecodeError as exc:
            raise InvalidJSON("The request body is not valid JSON.") from exc
        if evals is not None and evals.handles(raw):
            note, used = await evals.grade_line(claimed.tenant, claimed.batch_id, raw)
            line = output_line(claimed.custom_id, rid, 200, note)
            tokens = (used.prompt_tokens, used.completion_tokens)
            return RequestResult(claimed.batch_id, claimed.line, True, 200, rid, line, *tokens, used)
        completion = await chat.complete(parse_chat_request(raw), claimed.tenant)
    except JuristError as error:
        refund = _upstream_waits(error)
        if refund or (_retryable(error) and claimed.attempts < max_attempts):
            return Retry(backoff(claimed.attempts, retry_base, error), error, refund)
        body = error.to_envelope()
        return RequestResult(
            claimed.batch_id, claimed.line, False, error.status_code, rid,
            output_line(claimed.custom_id, rid, error.status_code, body),
        )  # fmt: skip
    body = completion.model_dump(mode="json")
    usage = completion.usage
    return RequestResult(
        claimed.batch_id,
        claimed.line,
        True,
        200,
        rid,
        output_line(claimed.custom_id, rid, 200, body),
        usage.prompt_tokens,
        usage.completion_tokens,
        completion_usage(completion),
    )
