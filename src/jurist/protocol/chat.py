"""Chat Completions wire models: the request (with PAI's judge content items) and the response."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr


class _Wire(BaseModel):
    """Wire objects ignore unknown fields, as OpenAI's SDK users expect."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ContentPart(_Wire):
    """One item of a message's content list: an OpenAI part or a PAI judge item (``mode``)."""

    type: str | None = None
    text: str | None = None
    mode: str | None = None
    json_: dict[str, Any] | None = Field(default=None, alias="json")


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
    response_format: dict[str, Any] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


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
    logprobs: dict[str, Any] | None = None


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
    judgment: dict[str, Any] | None = None
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
    logprobs: dict[str, Any] | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    judgment: dict[str, Any] | None = None


class ModelJudging(BaseModel):
    """Jurist's extension of the model object: how the model judges and what an item costs."""

    swap: bool
    samples: int
    expected_score: bool
    calls_per_item: dict[str, int]


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "jurist"
    description: str | None = None  # Jurist's extension: the model's configured description
    judging: ModelJudging | None = None


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
