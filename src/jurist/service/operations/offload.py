"""CPU-bound work in a process of its own, so that one tenant's large job (parsing a 20,000-line output
for a label post or a refit) neither blocks the server's event loop nor holds its GIL while every other
tenant's requests wait for it (issue 18: a thread is not enough; the GIL is shared).

The process is spawned on first use (a server that never needs it never starts it), runs pure functions
of picklable arguments, and is started again if it dies (a crash there fails that one call with
``OffloadFailed``, never the server)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from jurist.errors import OffloadFailed

R = TypeVar("R")
log = logging.getLogger(__name__)


class ProcessOffload:
    def __init__(self, workers: int = 1) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")  # never fork a running event loop
            self._pool = ProcessPoolExecutor(self._workers, mp_context=context)
        return self._pool

    async def __call__(self, fn: Callable[..., R], /, *args: object) -> R:
        pool = self._executor()
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
        except BrokenProcessPool as exc:
            log.error("the offload process died running %s: starting a new one", fn.__qualname__)
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            raise OffloadFailed() from exc

    @property
    def started(self) -> bool:
        return self._pool is not None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
