"""A stopping worker's drain: one deadline (``drain_seconds`` from the stop) shared by its loops. Work
in flight may finish until then; what is left is cancelled, and the worker releases it (its lines back
to the queue with their attempt refunded, its batch task unleased) so another node takes it at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine

log = logging.getLogger("jurist.runner")


class Drain:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.finished = 0  # in-flight lines that finished during the drain
        self.cancelled = 0  # and those cut at its end
        self._until: float | None = None

    def left(self) -> float:
        """Seconds left (the drain starts the first time a loop asks, on stop)."""
        now = asyncio.get_running_loop().time()
        if self._until is None:
            self._until = now + self.seconds
        return max(0.0, self._until - now)

    async def settle(self, inflight: set[asyncio.Task[None]]) -> None:
        """Let ``inflight`` finish within the drain; cancel the rest and wait for them to end."""
        if not inflight:
            return
        done, left = await asyncio.wait(set(inflight), timeout=self.left())
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left)
        self.finished += len(done)
        self.cancelled += len(left)

    async def bounded(self, stop: asyncio.Event, work: Coroutine[object, object, None]) -> None:
        """Run ``work`` (a loop that ends on ``stop``); once stopped, give it the drain, then cancel it."""
        task = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                await asyncio.wait({task}, timeout=self.left())
        finally:
            stopping.cancel()
            task.cancel()
            await asyncio.wait({task})
        if not task.cancelled() and task.exception() is not None:
            log.error("runner loop failed", exc_info=task.exception())

    def report(self, owner: str, released: int) -> None:
        if self.finished or self.cancelled or released:
            log.warning(
                "worker %s drained: %d in-flight lines finished, %d cancelled at the %gs limit; "
                "%d lines released to the queue",
                owner, self.finished, self.cancelled, self.seconds, released,
            )  # fmt: skip
