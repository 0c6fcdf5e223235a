"""Chat Completions wire models: the request (with PAI's judge content items and Jurist's extensions)
and the response (with the typed ``judgment``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from jurist.protocol.items import TaggedJudgeItem
from jurist.protocol.json_types import JSONObject
from jurist.protocol.judgment import Judgment


class _Wire(BaseModel):
    """Wire objects ignore unknown fields, as OpenAI's SDK users expect."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ContentPart(_Wire):
    """One item of a message's content list: an OpenAI part or a PAI judge item (``mode``)."""

    type: str | None = None
    text: str | None = None
    mode: str | None = None
    json_: JSONObject | None = Field(default=None, alias="json")


class ChatMessage(_Wire):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None


class StreamOptions(_Wire):
    include_usage: bool = False


class ChatCompletionRequest(_Wire):
    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=1, le=1)
    seed: int | None = None
    stop: str | list[str] | None = None
    response_format: JSONObject | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    # --- Jurist's extensions ---
    cache: bool | None = None  # false: bypass the judge cache for this request
    metadata: JSONObject | None = None  # carried to reports (model_a / model_b name the answers' models)
    # The judge item, whichever form it came in: this top-level field (what ``extra_body`` sends), or
    # found in the messages by ``service.requests.parse_chat_request``, which puts it here.
    judge: TaggedJudgeItem | None = None
    _source: JSONObject = PrivateAttr()  # set by parse_chat_request; no default (a default costs per request)

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def source(self) -> JSONObject:
        """The JSON object this request was validated from (the judge cache keys it, as batch lines are
        keyed before they are parsed); empty for a request built in code."""
        private = self.__pydantic_private__
        return private.get("_source", {}) if private else {}

    @property
    def sent_messages(self) -> list[JSONObject]:
        """The messages as the client sent them (for a custom template, forwarded unchanged)."""
        sent = self.source.get("messages")
        if isinstance(sent, list) and all(isinstance(m, dict) for m in sent):
            return [m for m in sent if isinstance(m, dict)]
        return [m.model_dump(mode="json", exclude_unset=True, by_alias=True) for m in self.messages]

    @property
    def passthrough(self) -> JSONObject:
        """Fields Jurist does not know, sent on to an upstream as they came (custom templates)."""
        return dict(self.model_extra or {})


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    refusal: str | None = None


class Choice(BaseModel):
    index: int = 0
    message: ResponseMessage
    finish_reason: Literal["stop", "length", "content_filter", "tool_calls", "function_call"]
    logprobs: JSONObject | None = None


class ChatCompletion(BaseModel):
    """OpenAI's ``chat.completion`` plus Jurist's structured ``judgment`` (null for custom templates)."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    system_fingerprint: str = ""
    service_tier: str | None = None
    judgment: Judgment | None = None
    _cache: str | None = PrivateAttr(default=None)  # "hit" / "miss" / None (not cacheable)

    @property
    def cache_status(self) -> str | None:
        return self._cache


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    finish_reason: str | None = None
    logprobs: JSONObject | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    judgment: Judgment | None = None


class ModelJudging(BaseModel):
    """Jurist's extension of the model object: how the model judges and what an item costs."""

    swap: bool
    samples: int
    expected_score: bool
    calls_per_item: dict[str, int]
    reasons: Literal["full", "short", "none"] = "full"  # verdict length, unless an item says otherwise


class CascadeCalls(BaseModel):
    """Judge calls per item of a cascade: every item pays the first stage, escalated ones the next."""

    min: int
    max: int
    expected: float | None  # from the tenant's calibrations of the stages; None: none yet


class ModelCascade(BaseModel):
    """Jurist's extension for a cascade model: its stages, when it escalates, and what an item costs."""

    stages: list[str]
    escalate_below: float
    agreement_target: float | None
    calls_per_item: dict[str, CascadeCalls]  # by mode
    escalation: dict[str, list[float | None]]  # by mode: the share of items each stage but the last escalates


class ModelStatus(BaseModel):
    """Jurist's extension: the model's health. ``state``: ``ready`` or ``not_ready``; an embedded model
    (a process of its own) also ``starting``, ``restarting`` (its process died; a new one is on its way)
    or ``failed`` (it crashed repeatedly: ``detail`` gives the cause); ``restarts`` counts its
    process's deaths by cause."""

    state: str
    detail: str | None = None
    restarts: dict[str, int] = Field(default_factory=dict)
    extra_buffer_types: str | None = None  # an embedded model: llama.cpp's extra buffer types, and why


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "jurist"
    description: str | None = None  # Jurist's extension: the model's configured description
    judging: ModelJudging | None = None
    cascade: ModelCascade | None = None
    status: ModelStatus | None = None


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
