"""The batch worker: claims batch-level tasks and request lines under leases, heart-beats them, runs
lines with a per-model concurrency limit, retries with backoff, records results in groups.

Any number of workers (in the server process, or ``jurist worker`` processes) can share one database.
A worker killed at any moment loses nothing: its leases expire and the lines are claimed again; a
result is accepted only from the lease holder, so each line gets exactly one result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from jurist.errors import JuristError
from jurist.ids import Clock, new_id, request_id
from jurist.protocol.batches import BatchStatus
from jurist.runner.drain import Drain
from jurist.runner.execute import Retry, execute_line, output_line
from jurist.runner.finalize import finalize_batch
from jurist.runner.ports import EvalLines, ModelGate, NoEvents, NoUsage, RunnerEvents, UsageSink
from jurist.runner.sweep import Sweeper
from jurist.runner.validate import BatchValidation
from jurist.service.judging.pipeline import ChatService
from jurist.service.tenancy.limits import BatchLimits
from jurist.settings import ModelConfig
from jurist.store.batch_tasks import BatchTasks
from jurist.store.blobs import BlobStore
from jurist.store.files import FileStore
from jurist.store.notify import NotifyListener
from jurist.store.queue import LineQueue
from jurist.store.records import BatchRecord, ClaimedRequest, RequestResult
from jurist.store.usage import UsageCounts

log = logging.getLogger("jurist.runner")


@dataclass(frozen=True)
class RunnerConfig:
    lease_seconds: float = 60.0
    poll_seconds: float = 0.2
    max_attempts: int = 5
    retry_base_seconds: float = 1.0
    max_batch_lines: int = 50_000
    flush_seconds: float = 0.05
    flush_size: int = 200
    drain_seconds: float = 30.0  # on stop, in-flight lines may finish this long; the rest are released


_ONE_LINE = UsageCounts(batch_lines=1)


class Worker:
    def __init__(
        self,
        files: FileStore,
        tasks: BatchTasks,
        queue: LineQueue,
        blobs: BlobStore,
        chat: ChatService,
        models: dict[str, ModelConfig],
        config: RunnerConfig,
        clock: Clock,
        events: RunnerEvents | None = None,
        usage: UsageSink | None = None,
        queue_limits: BatchLimits | None = None,
        gate: ModelGate | None = None,
        evals: EvalLines | None = None,
    ) -> None:
        self.tasks = tasks
        self.queue = queue
        self.blobs = blobs
        self.chat = chat
        self.models = models
        self.config = config
        self.clock = clock
        self.events: RunnerEvents = events or NoEvents()
        self.usage: UsageSink = usage or NoUsage()
        self.gate = gate
        self.evals = evals  # the lines of eval runs' batches grade rows
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{new_id('', 4)}"
        self._pending: list[RequestResult] = []
        self._flush_now = asyncio.Event()
        self._tasks_wake = asyncio.Event()
        self._task_batch: str | None = None
        self._lines_wake = {name: asyncio.Event() for name in models}
        self._drain = Drain(config.drain_seconds)
        self.listener: NotifyListener | None = None  # wakes the loops when another node makes work
        self.sweeper: Sweeper | None = None  # the lease-guarded housekeeping this node takes part in
        self._validation = BatchValidation(  # an account's queued lines are checked there
            files, tasks, blobs, chat, config.max_batch_lines, clock, self.events, self.usage, queue_limits,
            self.owner,
        )  # fmt: skip

    def nudge(self) -> None:
        """A batch was created or cancelled in this process: look for batch tasks now, not next poll."""
        self._tasks_wake.set()

    def nudge_lines(self, models: Collection[str] = ()) -> None:
        """Lines were queued for ``models`` (every model when empty): claim now, not next poll."""
        for name in models or self._lines_wake:
            if (wake := self._lines_wake.get(name)) is not None:
                wake.set()

    # ------------------------------------------------------------ main loop
    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop``; then drain: claim nothing more, let in-flight work finish for up to
        ``drain_seconds``, cancel the rest, record what finished and release the rest at once (lines
        back to the queue with their attempt refunded, batch tasks unleased), so another node takes
        them without waiting for the leases to expire."""
        cfg = self.config
        self._drain = drain = Drain(cfg.drain_seconds)
        drained = asyncio.Event()  # heartbeats and flushes go on until the drain is over
        keep = asyncio.gather(
            self._forever(drained, self._heartbeat_once, cfg.lease_seconds / 3), self._flush_loop(drained)
        )
        claiming = [
            drain.bounded(
                stop, self._forever(stop, self._tasks_once, cfg.poll_seconds * 2, self._tasks_wake)
            ),
            self._forever(stop, self._reclaim_once, max(0.5, cfg.lease_seconds / 4)),
            *(self._model_loop(name, m.concurrency, stop) for name, m in self.models.items()),
            *(drain.bounded(stop, job.run(stop)) for job in (self.listener, self.sweeper) if job is not None),
        ]
        try:
            await asyncio.gather(*claiming)
        finally:
            drained.set()
            await keep
            await self._flush()
            await self._release()

    async def _release(self) -> None:
        try:
            released = await self.queue.release(self.owner)
        except Exception:
            log.exception("releasing this worker's lines failed; they return when their leases expire")
            return
        self._drain.report(self.owner, released)

    async def _forever(
        self,
        stop: asyncio.Event,
        step: Callable[[], Awaitable[bool]],
        idle: float,
        wake: asyncio.Event | None = None,
    ) -> None:
        while not stop.is_set():
            if wake is not None:
                wake.clear()
            try:
                busy = await step()
            except Exception:
                log.exception("runner step %s failed", getattr(step, "__name__", step))
                busy = False
            if not busy:
                waiters = [asyncio.ensure_future(e.wait()) for e in (stop, wake) if e is not None]
                try:
                    await asyncio.wait(waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for waiter in waiters:
                        waiter.cancel()

    # ------------------------------------------------------ request lines
    async def _model_loop(self, model: str, capacity: int, stop: asyncio.Event) -> None:
        inflight: set[asyncio.Task[None]] = set()
        stopping = asyncio.ensure_future(stop.wait())
        wake = self._lines_wake[model]
        try:
            while not stop.is_set():
                wake.clear()
                free = capacity - len(inflight)
                claimed: list[ClaimedRequest] = []
                paused = await self._paused_for(model) if free > 0 else 0.0
                if free > 0 and paused <= 0:
                    try:
                        claimed = await self.queue.claim(
                            self.owner, model, min(free, 256), self.clock.now(), self.config.lease_seconds
                        )
                    except Exception:
                        log.exception("claiming lines for %s failed", model)
                for item in claimed:
                    task = asyncio.create_task(self._run_line(item))
                    inflight.add(task)
                    task.add_done_callback(inflight.discard)
                if claimed and len(claimed) == free:
                    continue
                waking = asyncio.ensure_future(wake.wait())
                waiters: set[asyncio.Future[object]] = {stopping, waking, *inflight}  # type: ignore[arg-type]
                idle = max(self.config.poll_seconds, min(paused, 1.0))
                try:
                    await asyncio.wait(waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waking.cancel()
        finally:
            stopping.cancel()
            await self._drain.settle(inflight)  # finish what can finish in time, cancel the rest

    async def _paused_for(self, model: str) -> float:
        """While the model's upstream is paused or its circuit open, claim nothing (lines keep their
        attempts)."""
        if self.gate is None:
            return 0.0
        try:
            return await self.gate.ready_in(model)
        except Exception:
            log.exception("reading the upstream gate of %s failed", model)
            return 0.0

    async def _run_line(self, claimed: ClaimedRequest) -> None:
        cfg = self.config
        try:
            outcome = await execute_line(
                self.chat, claimed, cfg.max_attempts, cfg.retry_base_seconds, self.evals
            )
        except Exception:
            log.exception("batch %s line %s failed unexpectedly", claimed.batch_id, claimed.line)
            rid = request_id()
            body = JuristError("The server had an error while processing this request.").to_envelope()
            outcome = RequestResult(
                claimed.batch_id,
                claimed.line,
                False,
                500,
                rid,
                output_line(claimed.custom_id, rid, 500, body),
            )
        if isinstance(outcome, Retry):
            self.events.line_retried(claimed.model, outcome.error)
            await self.queue.retry_later(
                self.owner, claimed.batch_id, claimed.line, self.clock.now() + outcome.delay, outcome.refund
            )
            return
        self.events.line_finished(claimed.model, outcome.succeeded)
        self.usage.record(claimed.tenant, claimed.model, outcome.usage + _ONE_LINE)
        self._pending.append(outcome)
        if len(self._pending) >= cfg.flush_size:
            self._flush_now.set()

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), self.config.flush_seconds)
            self._flush_now.clear()
            await self._flush()

    async def _flush(self) -> None:
        if not self._pending:
            return
        results, self._pending = self._pending, []
        try:
            await self.queue.record_results(self.owner, results, int(self.clock.now()))
        except Exception:
            log.exception("recording %d results failed; will retry", len(results))
            self._pending = results + self._pending

    async def _heartbeat_once(self) -> bool:
        until = self.clock.now() + self.config.lease_seconds
        await self.queue.heartbeat(self.owner, until)
        if self._task_batch is not None:
            await self.tasks.extend(self._task_batch, self.owner, until)
        return False

    async def _reclaim_once(self) -> bool:
        count = await self.queue.reclaim_expired(self.clock.now())
        if count:
            log.warning("reclaimed %d lines whose worker stopped heart-beating", count)
            self.events.leases_reclaimed(count)
            self.nudge_lines()  # they are queued again: claim them now
        return False

    # ---------------------------------------------------- batch-level tasks
    async def _tasks_once(self) -> bool:
        now = self.clock.now()
        batch = await self.tasks.claim(self.owner, now, self.config.lease_seconds)
        if batch is None:
            return False
        self._task_batch = batch.id
        try:
            await self._handle(batch)
        except asyncio.CancelledError:  # the drain ran out: let another node take it now
            await self.tasks.release(batch.id, self.owner)
            log.warning("batch %s: %s step cut short by the drain; released", batch.id, batch.status)
            raise
        except Exception:
            log.exception("batch %s: %s step failed; will retry", batch.id, batch.status)
            await self.tasks.release(batch.id, self.owner, self.clock.now() + 5)
        finally:
            self._task_batch = None
        return True

    async def _handle(self, batch: BatchRecord) -> None:
        now = self.clock.now()
        if batch.status == BatchStatus.VALIDATING:
            used = await self._validation.run(batch)
            if used is not None:  # started: its lines are queued
                self.nudge_lines(used)
        elif batch.status == BatchStatus.IN_PROGRESS:  # past its completion window
            await self.tasks.expire_open_lines(batch.id, self.owner, int(now))
            await self._finalize(batch)
        elif batch.status == BatchStatus.FINALIZING:
            await self._finalize(batch)
        elif batch.status == BatchStatus.CANCELLING:
            running = await self.tasks.settle_cancel(batch.id, now)
            if running:
                await self.tasks.release(batch.id, self.owner, now + self.config.poll_seconds * 5)
            else:
                await self._finalize(batch)

    async def _finalize(self, batch: BatchRecord) -> None:
        await finalize_batch(self.tasks, self.blobs, batch, self.owner, int(self.clock.now()))
