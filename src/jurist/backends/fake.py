"""A scripted backend for tests and demos: ``enqueue()`` answers, read ``history``."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import AsyncIterator

from jurist.backends.base import Generation, GenerationChunk, GenerationRequest


class FakeBackend:
    """Returns queued answers in order (text, a ``Generation`` or an exception to raise).
    With nothing queued it answers ``default``."""

    def __init__(self, default: str = "") -> None:
        self.default = default
        self.history: list[GenerationRequest] = []
        self._queue: deque[str | Generation | BaseException] = deque()

    @property
    def description(self) -> str:
        return "fake (scripted)"

    def enqueue(self, *answers: str | Generation | BaseException) -> None:
        self._queue.extend(answers)

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def ready(self) -> bool:
        return True

    async def generate(self, request: GenerationRequest) -> Generation:
        self.history.append(request)
        answer = self._queue.popleft() if self._queue else self.default
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, Generation):
            return answer
        return Generation(answer, "stop", 10, max(1, len(answer.split())))

    async def stream(self, request: GenerationRequest) -> AsyncIterator[GenerationChunk]:
        result = await self.generate(request)
        for piece in re.findall(r"\s*\S+\s*", result.text) or [result.text]:
            yield GenerationChunk(text=piece)
        yield GenerationChunk(
            finish_reason=result.finish_reason,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
        )
