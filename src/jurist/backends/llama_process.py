"""The embedded model as the server sees it: a supervised process of its own (``engine_process``), so that
native code dying inside llama.cpp (a segfault, ``abort()``, the OOM killer) never takes the service down.

- At start the process loads the model and decodes a few tokens (the self-test). When it dies doing so
  with llama.cpp's extra buffer types on, the server logs the cause and starts it once more with them off.
- When it dies later, the requests it held get a 503 ``model_unavailable`` with ``Retry-After`` (a batch
  line gets its attempt back), and a new process is started after a backoff (0.5 s, doubling up to 30 s).
  Requests arriving meanwhile wait for it (up to ``WAIT_SECONDS``).
- ``max_crashes`` deaths within ``crash_window_seconds`` (by default 3 within a minute) mark the model
  failed with its cause: it is not restarted, and its requests get a 503 until the server restarts.
- ``health()`` tells the state, the restarts by cause and the last restart's time (/metrics,
  ``/v1/models/{id}``, the console's models page).
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from jurist.backends.base import EngineHealth, Generation, GenerationChunk, GenerationRequest
from jurist.backends.cpu_features import ExtraBuffers, FlagsSource, cpu_flags, extra_buffers
from jurist.backends.engine_process import Died, EngineProcess
from jurist.errors import BackendError, JuristError, ModelUnavailable
from jurist.settings import LlamaCppModelConfig

log = logging.getLogger("jurist.engine")
WAIT_SECONDS = 30.0  # how long a request waits for a restarting model before its 503
FAILED_RETRY_AFTER = 60.0  # the Retry-After of a failed model's 503
FIRST_BACKOFF, MAX_BACKOFF = 0.5, 30.0


class EmbeddedModelProcess:
    """A ``Backend`` (and ``PromptTokenSource``, ``SupervisedBackend``) running a GGUF model in a process
    of its own, restarted when it dies."""

    def __init__(
        self,
        config: LlamaCppModelConfig,
        model_path: Path,
        flags: FlagsSource = cpu_flags,
        python: str = sys.executable,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config, self._path, self._python, self._clock = config, model_path, python, clock
        self._buffers: ExtraBuffers = extra_buffers(config.extra_buffer_types, flags())
        self._state, self._detail = "stopped", ""
        self._process: EngineProcess | None = None
        self._lock = asyncio.Lock()
        self._settled = asyncio.Event()  # set while ready or failed
        self._crashes: deque[float] = deque()
        self._restarts: Counter[str] = Counter()
        self._stats_before: Counter[str] = Counter()  # prompt tokens counted by processes now dead
        self._restart: asyncio.Task[None] | None = None
        self._start_seconds = 1.0  # the last start's duration (for Retry-After)
        self._last_restart: float | None = None
        self._closed = False

    @property
    def description(self) -> str:
        return f"embedded llama.cpp model {self._path.name}"

    @property
    def info(self) -> dict[str, object]:
        """What the running process said of itself when ready (pid, system info, self-test, threads)."""
        return dict(self._process.info) if self._process is not None else {}

    def health(self) -> EngineHealth:
        process = self._process
        return EngineHealth(
            state=self._state,
            detail=self._detail,
            restarts=dict(self._restarts),
            pid=process.pid if process is not None and process.alive else None,
            extra_buffers=self._buffers.describe(),
            last_restart_seconds=self._last_restart,
        )

    @property
    def in_flight(self) -> int:
        """Requests the model process holds now (they get a 503 if it dies)."""
        return self._process.in_flight if self._process is not None else 0

    def prompt_stats(self) -> dict[str, int]:
        current = self._process.stats if self._process is not None else {}
        return {k: self._stats_before[k] + current.get(k, 0) for k in ("evaluated", "reused", "prefixes")}

    async def ready(self) -> bool:
        return self._state == "ready"

    # --- lifecycle ---
    async def start(self) -> None:
        """Start the model process. A configuration it refuses (no such file, a context that does not
        fit) is a ``ConfigError`` as before; a process that dies even with the extra buffer types off
        leaves the model failed (the rest of the service runs) and is logged."""
        async with self._lock:
            if self._state != "stopped" or self._closed:
                return
            self._set("starting")
            try:
                self._process = await self._launch_tested()
            except Died as died:
                self._fail(f"the model process died while starting ({died.cause})")
                return
            except BackendError as exc:
                self._fail(f"the model's self-test failed: {exc.message}")
                return
            except JuristError as exc:
                self._fail(f"the model did not start: {exc.message}")
                raise
            self._set("ready")

    async def aclose(self) -> None:
        self._closed = True
        if self._restart is not None:
            self._restart.cancel()
        process, self._process = self._process, None
        if process is not None:
            await process.close()
        self._set("stopped")

    async def _launch_tested(self) -> EngineProcess:
        """A process that passed its self-test: once more with the extra buffer types off when the
        self-test killed it or failed."""
        try:
            return await self._launch()
        except (Died, BackendError) as failure:
            if isinstance(failure, Died):
                self._crashed(failure.cause)
            if not self._buffers.enabled:
                raise
            cause = failure.cause if isinstance(failure, Died) else failure.message
            how = "died" if isinstance(failure, Died) else "failed"
            log.error(
                "%s: the model's self-test %s (%s) with llama.cpp's extra buffer types on; starting it "
                "again with them off",
                self.description, how, cause,
            )  # fmt: skip
            self._buffers = ExtraBuffers(False, f"turned off: the self-test {how} with them on ({cause})")
            return await self._launch()

    async def _launch(self) -> EngineProcess:
        began = self._clock()
        load: dict[str, object] = {
            "op": "load",
            "config": self._config.model_dump(mode="json"),
            "model_path": str(self._path),
            "extra_bufts": self._buffers.enabled,
        }
        timeout = self._config.start_timeout_seconds
        process = await EngineProcess.launch(load, self._python, timeout, self._unavailable)
        process.on_death = self._died
        self._start_seconds = self._clock() - began
        log.info(
            "%s: process %d ready in %.1f s (%s)",
            self.description, process.pid, self._start_seconds, self._buffers.describe(),
        )  # fmt: skip
        return process

    # --- deaths and restarts ---
    def _crashed(self, cause: str) -> bool:
        """Count a death; True when it makes a crash loop (the model is then failed)."""
        now = self._clock()
        self._restarts[cause] += 1
        self._crashes.append(now)
        while self._crashes and now - self._crashes[0] > self._config.crash_window_seconds:
            self._crashes.popleft()
        return len(self._crashes) >= self._config.max_crashes

    def _backoff(self) -> float:
        return float(min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** max(0, len(self._crashes) - 1)))

    def _died(self, process: EngineProcess, cause: str) -> None:
        if process is not self._process or self._closed:
            return
        self._stats_before.update(process.stats)
        self._process = None
        log.error("%s: the model process %d died (%s)", self.description, process.pid, cause)
        if self._crashed(cause):
            self._fail(self._loop_detail(cause))
            return
        self._set("restarting", f"the model process died ({cause}); restarting")
        self._restart = asyncio.create_task(self._restart_after(self._backoff(), self._clock()))

    def _loop_detail(self, cause: str) -> str:
        window, n = self._config.crash_window_seconds, len(self._crashes)
        return (
            f"crashed {n} time{'s' if n != 1 else ''} within {window:.0f} s (last: {cause}); not restarted "
            "until the server restarts"
        )

    async def _restart_after(self, delay: float, died_at: float) -> None:
        await asyncio.sleep(delay)
        try:
            process = await self._launch()
        except Died as died:
            if self._crashed(died.cause):
                self._fail(self._loop_detail(died.cause))
                return
            self._restart = asyncio.create_task(self._restart_after(self._backoff(), died_at))
            return
        except JuristError as exc:
            self._fail(f"the model did not restart: {exc.message}")
            return
        if self._closed:
            await process.close()
            return
        self._process = process
        self._last_restart = self._clock() - died_at
        self._set("ready")

    def _set(self, state: str, detail: str = "") -> None:
        self._state, self._detail = state, detail
        if state in ("ready", "failed", "stopped"):
            self._settled.set()
        else:
            self._settled.clear()

    def _fail(self, detail: str) -> None:
        log.error("%s: %s", self.description, detail)
        self._set("failed", detail)

    def _unavailable(self, cause: str) -> ModelUnavailable:
        """What a request in a process that died gets."""
        if self._state == "failed":
            return ModelUnavailable(
                f"The model's process died ({cause}) while answering; it is unavailable: {self._detail}.",
                retry_after=FAILED_RETRY_AFTER,
                restarting=False,
            )
        retry = math.ceil(self._backoff() + self._start_seconds)
        return ModelUnavailable(
            f"The model's process died ({cause}) while answering; it is restarting: retry in {retry} s.",
            retry_after=retry,
        )

    # --- requests ---
    async def _live(self) -> EngineProcess:
        if self._state == "stopped" and not self._closed:
            await self.start()
        if self._state in ("starting", "restarting"):
            try:
                await asyncio.wait_for(self._settled.wait(), WAIT_SECONDS)
            except TimeoutError:
                raise ModelUnavailable(
                    f"The model is restarting ({self._detail}); retry later.",
                    retry_after=math.ceil(self._backoff() + self._start_seconds),
                ) from None
        process = self._process
        if self._state == "ready" and process is not None and process.alive:
            return process
        if self._state == "failed":
            raise ModelUnavailable(
                f"The model is unavailable: {self._detail}.", retry_after=FAILED_RETRY_AFTER, restarting=False
            )
        raise ModelUnavailable("The model is not running; retry later.", retry_after=1.0)

    async def generate(self, request: GenerationRequest) -> Generation:
        return await (await self._live()).generate(request)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[GenerationChunk]:
        process = await self._live()
        async for chunk in process.stream(request):
            yield chunk
