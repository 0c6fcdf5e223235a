"""The backend protocol: generate a completion, or stream one, from chat messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from jurist.protocol.json_types import JSONObject


@dataclass(frozen=True)
class GenerationRequest:
    """What a backend is asked to do. ``json_schema`` asks for output constrained to that schema
    (when the backend can); ``response_format`` is a caller's own, passed through as it is."""

    messages: list[JSONObject]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    json_schema: JSONObject | None = None
    response_format: JSONObject | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    extra: JSONObject = field(default_factory=dict)


@dataclass(frozen=True)
class Generation:
    text: str
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    logprobs: JSONObject | None = None


@dataclass(frozen=True)
class GenerationChunk:
    """One streamed piece: text, and on the last one the finish reason and token counts."""

    text: str = ""
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Backend(Protocol):
    """A judge model. Implementations: ``LlamaCppBackend`` (embedded), ``OpenAIBackend`` (upstream),
    ``FakeBackend`` (scripted, for tests)."""

    @property
    def description(self) -> str: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    async def ready(self) -> bool:
        """Started and reachable (for /readyz)."""
        ...

    async def generate(self, request: GenerationRequest) -> Generation: ...

    def stream(self, request: GenerationRequest) -> AsyncIterator[GenerationChunk]: ...


def flatten_content(content: Any) -> str:
    """A message's content as plain text (text parts joined)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("text"))
    return str(content)


@runtime_checkable
class PromptTokenSource(Protocol):
    """A backend that evaluates prompts itself (the embedded engine) and can say how many prompt tokens
    it ran through the model and how many it copied from a cached prefix instead (for /metrics)."""

    @property
    def description(self) -> str: ...

    def prompt_stats(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class EngineHealth:
    """A supervised model process: ``state`` is ``starting``, ``ready``, ``restarting`` (it died and a
    new one is on its way), ``failed`` (it does not come back by itself) or ``stopped``; ``restarts``
    counts its deaths by cause (a signal's name, such as ``SIGSEGV``, or ``exit 1``)."""

    state: str
    detail: str = ""
    restarts: dict[str, int] = field(default_factory=dict)
    pid: int | None = None
    extra_buffers: str = ""
    last_restart_seconds: float | None = None  # from the death to the new process's passed self-test


@runtime_checkable
class SupervisedBackend(Protocol):
    """A backend whose model runs in a process of its own (the embedded model), restarted when it dies."""

    @property
    def description(self) -> str: ...

    def health(self) -> EngineHealth: ...
