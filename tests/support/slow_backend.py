"""The scripted backend with an upstream's latency: each answer after a fixed delay (fairness and
throughput checks of the batch runner without a network)."""

from __future__ import annotations

import asyncio

from jurist.backends.base import Generation, GenerationRequest
from jurist.backends.fake import FakeBackend


class SlowBackend(FakeBackend):
    def __init__(self, delay: float, default: str = "") -> None:
        super().__init__(default)
        self.delay = delay

    @property
    def description(self) -> str:
        return f"fake (scripted, {self.delay * 1000:g} ms a call)"

    async def generate(self, request: GenerationRequest) -> Generation:
        await asyncio.sleep(self.delay)
        return await super().generate(request)
