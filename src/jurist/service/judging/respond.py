"""Respond: a judging pipeline's result as the client reads it: usage, finish reasons, and a completion
as ``chat.completion.chunk`` events (a judge verdict is rendered whole, then sent in pieces; a custom
template streams the backend's tokens as they come)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from jurist.backends.base import GenerationChunk
from jurist.ids import chat_completion_id
from jurist.protocol.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChunkChoice,
    ChunkDelta,
    Usage,
)
from jurist.protocol.judgment import PairwiseJudgment, SingleJudgment
from jurist.store.usage import UsageCounts, judge_calls

STREAM_PIECE = 64  # characters of a judge verdict per chunk


def now() -> int:
    return int(time.time())


def usage(prompt: int, completion: int) -> Usage:
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def finish_reason(reason: str) -> Any:
    return reason if reason in ("stop", "length", "content_filter", "tool_calls") else "stop"


class Chunks:
    """The chunks of one streamed completion (one id and ``created``)."""

    def __init__(self, request: ChatCompletionRequest) -> None:
        self.model = request.model
        self.include_usage = bool(request.stream_options and request.stream_options.include_usage)
        self.id, self.created = chat_completion_id(), now()

    def chunk(
        self, delta: ChunkDelta, finish: str | None = None, usage: Usage | None = None,
        judgment: SingleJudgment | PairwiseJudgment | None = None, empty: bool = False,
    ) -> ChatCompletionChunk:  # fmt: skip
        choices = [] if empty else [ChunkChoice(delta=delta, finish_reason=finish)]
        return ChatCompletionChunk(
            id=self.id, created=self.created, model=self.model, choices=choices, usage=usage,
            judgment=judgment,
        )  # fmt: skip

    def first(self) -> ChatCompletionChunk:
        return self.chunk(ChunkDelta(role="assistant", content=""))

    async def plain(
        self, pieces: AsyncIterator[GenerationChunk], used: Callable[[UsageCounts], None] | None
    ) -> AsyncIterator[ChatCompletionChunk]:
        """A custom template's tokens as they come, then its finish and (when asked) its usage."""
        prompt = completion = 0
        finish = "stop"
        async for piece in pieces:
            if piece.text:
                yield self.chunk(ChunkDelta(content=piece.text))
            if piece.finish_reason is not None:
                finish = piece.finish_reason
                prompt, completion = piece.prompt_tokens or 0, piece.completion_tokens or 0
        if used is not None:
            used(UsageCounts(1, 1, prompt, completion))
        yield self.chunk(ChunkDelta(), finish_reason(finish))
        if self.include_usage:
            yield self.chunk(ChunkDelta(), usage=usage(prompt, completion), empty=True)

    def judged(
        self, judged: ChatCompletion, used: Callable[[UsageCounts], None] | None
    ) -> list[ChatCompletionChunk]:
        """A judged completion in pieces, then its judgment and (when asked) its usage. ``used`` hears
        of the judge calls at once: they are made, even if the client leaves mid-stream."""
        tokens = judged.usage
        if used is not None:
            used(UsageCounts(1, judge_calls(judged), tokens.prompt_tokens, tokens.completion_tokens))
        text = judged.choices[0].message.content or ""
        out = [
            self.chunk(ChunkDelta(content=text[i : i + STREAM_PIECE]))
            for i in range(0, len(text), STREAM_PIECE)
        ]
        out.append(self.chunk(ChunkDelta(), "stop", judgment=judged.judgment))
        if self.include_usage:
            out.append(self.chunk(ChunkDelta(), usage=tokens, empty=True))
        return out
