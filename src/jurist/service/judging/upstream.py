"""The provider's limits, kept by every API server and worker together: a model's ``rpm`` / ``tpm``
(GCRA buckets in the database), the pause an upstream 429 imposes, and a circuit breaker with a
half-open probe (``store.upstream``).

``GuardedBackend`` wraps a model's backend. Before each call it reads the model's gate (cached for
``GATE_CACHE_SECONDS`` per process, so the hot path makes no database round trip for it), then takes one
unit from the model's ``rpm`` bucket (waiting for it, up to ``max_wait`` seconds, then 429) and checks the
``tpm`` bucket (tokens are charged after the call, when they are known); a busy process takes and
charges them in small blocks (``service.bucket_share``). While the model is paused or
its circuit open, calls fail fast with ``UpstreamPaused`` (503, ``Retry-After``), except the one probe.

- An upstream 429 pauses the model on every node until its ``Retry-After`` (``DEFAULT_PAUSE_SECONDS``
  without one); the caller gets the 429.
- Upstream failures (unreachable, timeout, 5xx and other non-2xx answers, not a rejected request)
  count towards ``circuit_failures``; at that many in a row the circuit opens for
  ``circuit_cooldown_seconds``. A success resets the count. After the cooldown one call, on any node,
  is the probe: its success closes the circuit, its failure re-opens it (and is ``UpstreamPaused``, so a
  batch line that was the probe gets its attempt back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from jurist.backends.base import Backend, Generation, GenerationChunk, GenerationRequest
from jurist.errors import BackendError, BackendRejected, JuristError, RateLimited, UpstreamPaused
from jurist.ids import Clock, new_id
from jurist.service.tenancy.bucket_share import RequestShare, TokenShare
from jurist.settings import ModelConfig
from jurist.store.rate_limits import RateBuckets
from jurist.store.upstream import Gate, UpstreamState

log = logging.getLogger("jurist.upstream")
GATE_CACHE_SECONDS = 0.25  # how stale a process's view of a model's gate may be
RECHECK_SECONDS = 0.5  # the Retry-After while another node's probe is in flight
DEFAULT_PAUSE_SECONDS = 1.0  # an upstream 429 without Retry-After
MAX_PAUSE_SECONDS = 600.0  # a longer Retry-After is cut to this (a probe-like call then asks again)


@dataclass(frozen=True)
class UpstreamPolicy:
    """What guards one model's calls."""

    rpm: int | None = None
    tpm: int | None = None
    circuit: bool = False
    circuit_failures: int = 5
    circuit_cooldown: float = 30.0
    max_wait: float = 30.0  # the longest a call waits for its rpm / tpm turn before a 429
    probe_seconds: float = 60.0  # a probe's node is presumed dead after this long

    @classmethod
    def of(cls, config: ModelConfig, circuit: bool) -> UpstreamPolicy:
        return cls(config.rpm, config.tpm, circuit, config.circuit_failures, config.circuit_cooldown_seconds)

    @property
    def needed(self) -> bool:
        return bool(self.rpm or self.tpm or self.circuit)


class UpstreamGates:
    """One process's view of the models' gates: the shared state, read at most once per
    ``GATE_CACHE_SECONDS`` per model, and updated at once by this process's own transitions. It is
    also the runner's ``ModelGate``: whether lines of a model may be claimed now."""

    def __init__(self, state: UpstreamState, clock: Clock) -> None:
        self.state = state
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{new_id('', 4)}"
        self.guarded: set[str] = set()
        self._cache: dict[str, tuple[float, Gate]] = {}
        self._reading: dict[str, asyncio.Lock] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}

    def cached(self, model: str) -> Gate | None:
        """The model's gate as last read, while it is fresh enough (no await on the hot path)."""
        entry = self._cache.get(model)
        if entry is not None and time.monotonic() - entry[0] < GATE_CACHE_SECONDS:
            return entry[1]
        return None

    async def gate(self, model: str, fresh: bool = False) -> Gate:
        """The model's gate: read when this process has none, ``fresh`` asks, or the one it has would
        refuse calls and is older than ``GATE_CACHE_SECONDS``. A healthy gate that old is returned and
        refreshed in the background, so calls never queue behind a read (under load they would, every
        quarter of a second, all of them); a pause set elsewhere is seen one call later at most."""
        entry = self._cache.get(model)
        if entry is not None and not fresh:
            stale = time.monotonic() - entry[0] >= GATE_CACHE_SECONDS
            if stale and (not entry[1].healthy or entry[1].paused_until > self.clock.now()):
                return await self._read(model, fresh)
            if stale and model not in self._refreshing:
                task = asyncio.create_task(self._refresh(model))
                self._refreshing[model] = task
                task.add_done_callback(lambda _: self._refreshing.pop(model, None))
            return entry[1]
        return await self._read(model, fresh)

    async def _refresh(self, model: str) -> None:
        try:
            await self._read(model, fresh=False)
        except Exception:  # the next call tries again; until then the last gate stands
            log.warning("reading the upstream state of %s failed", model, exc_info=True)

    async def _read(self, model: str, fresh: bool) -> Gate:
        lock = self._reading.setdefault(model, asyncio.Lock())
        async with lock:  # one read per model at a time; the others use its answer
            entry = self._cache.get(model)
            if entry is not None and time.monotonic() - entry[0] < GATE_CACHE_SECONDS and not fresh:
                return entry[1]
            started = time.monotonic()
            gate = await self.state.gate(model)
            self._cache[model] = (started, gate)
            return gate

    def note(self, model: str, gate: Gate) -> None:
        """A transition this process made: seen at once, without a read."""
        self._cache[model] = (time.monotonic(), gate)

    async def ready_in(self, model: str) -> float:
        """Seconds until calls to ``model`` may go (0: now, or an open circuit's probe is due)."""
        if model not in self.guarded:
            return 0.0
        gate = await self.gate(model)
        wait = gate.closed_in(self.clock.now())
        return min(wait, RECHECK_SECONDS) if gate.state == "half_open" else wait


class GuardedBackend:
    """A backend behind its model's shared limits, pause and circuit breaker."""

    def __init__(
        self, model: str, inner: Backend, policy: UpstreamPolicy, gates: UpstreamGates, buckets: RateBuckets
    ) -> None:
        self.model = model
        self.inner = inner
        self.policy = policy
        self._gates = gates
        clock = gates.clock
        self._rpm = RequestShare(buckets, f"model:{model}:rpm", policy.rpm, clock) if policy.rpm else None
        self._tpm = TokenShare(buckets, f"model:{model}:tpm", policy.tpm, clock) if policy.tpm else None
        self._turns = asyncio.Lock()  # one waiter per process polls the shared buckets, in order
        gates.guarded.add(model)

    @property
    def description(self) -> str:
        return self.inner.description

    async def start(self) -> None:
        await self.inner.start()

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def ready(self) -> bool:
        return await self.inner.ready()

    async def generate(self, request: GenerationRequest) -> Generation:
        gate, probe = await self._admit()
        try:
            generation = await self.inner.generate(request)
        except JuristError as error:
            await self._failed(error, probe)
            raise
        await self._succeeded(gate, probe, generation.prompt_tokens + generation.completion_tokens)
        return generation

    async def stream(self, request: GenerationRequest) -> AsyncIterator[GenerationChunk]:
        gate, probe = await self._admit()
        tokens = 0
        try:
            async for chunk in self.inner.stream(request):
                if chunk.finish_reason is not None:
                    tokens = (chunk.prompt_tokens or 0) + (chunk.completion_tokens or 0)
                yield chunk
        except JuristError as error:
            await self._failed(error, probe)
            raise
        await self._succeeded(gate, probe, tokens)

    # ------------------------------------------------------------------ before the call
    async def _admit(self) -> tuple[Gate, bool]:
        """The gate seen, and whether this call is the half-open probe; raises ``UpstreamPaused``
        while the model is paused or its circuit open, ``RateLimited`` when its turn is too far."""
        gate = self._gates.cached(self.model)
        if (  # the common case: a fresh, open gate and no bucket, with no further await
            gate is not None
            and gate.state == "closed"
            and self._rpm is None
            and self._tpm is None
            and gate.paused_until <= self._gates.clock.now()
        ):
            return gate, False
        deadline = time.monotonic() + self.policy.max_wait
        gate, probe = await self._through_gate()
        if self._rpm is not None or self._tpm is not None:
            async with self._turn(deadline):
                if self._tpm is not None:
                    await self._wait_for(deadline, self._tpm.wait)
                if self._rpm is not None:
                    await self._wait_for(deadline, self._rpm.take)
        return gate, probe

    async def _through_gate(self) -> tuple[Gate, bool]:
        gates, policy = self._gates, self.policy
        gate = gates.cached(self.model) or await gates.gate(self.model)
        now = gates.clock.now()
        if gate.state == "closed" or not policy.circuit:
            if gate.paused_until > now:
                wait = gate.paused_until - now
                raise UpstreamPaused(
                    f"model {self.model!r} is paused after its upstream's rate limit; retry in {wait:.1f} s",
                    retry_after=wait,
                )
            return gate, False
        wait = gate.closed_in(now)
        if wait <= 0 and await gates.state.try_probe(self.model, gates.owner, now, policy.probe_seconds):
            probing = Gate(
                "half_open", gate.paused_until, gate.failures, gates.owner, now + policy.probe_seconds
            )
            gates.note(self.model, probing)
            return probing, True
        if wait <= 0:  # another node probes, or already closed the circuit: look again
            gate = await gates.gate(self.model, fresh=True)
            if gate.state == "closed" and gate.paused_until <= now:
                return gate, False
            wait = gate.closed_in(now)
        if gate.state == "half_open":
            wait = min(max(wait, 0.05), RECHECK_SECONDS)
        raise UpstreamPaused(
            f"model {self.model!r}: its upstream is failing (circuit breaker open after "
            f"{gate.failures} failures); retry in {wait:.1f} s",
            retry_after=wait,
        )

    @contextlib.asynccontextmanager
    async def _turn(self, deadline: float) -> AsyncIterator[None]:
        """This process's turn at the shared buckets, unless it cannot come before ``deadline``."""
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await self._turns.acquire()
        except TimeoutError:
            raise self._too_long(60.0 / (self.policy.rpm or 60)) from None
        try:
            yield
        finally:
            self._turns.release()

    def _too_long(self, wait: float) -> RateLimited:
        limits = " and ".join(
            f"{n} {unit} per minute"
            for n, unit in ((self.policy.rpm, "requests"), (self.policy.tpm, "tokens"))
            if n
        )
        return RateLimited(
            f"model {self.model!r} is at its upstream limit of {limits}; retry in {wait:.1f} s",
            retry_after=wait,
        )

    async def _wait_for(self, deadline: float, attempt: Callable[[], Awaitable[float]]) -> None:
        while True:
            wait = await attempt()
            if wait <= 0:
                return
            if time.monotonic() + wait > deadline:
                raise self._too_long(wait)
            await asyncio.sleep(wait)

    # ------------------------------------------------------------------- after the call
    async def _succeeded(self, gate: Gate, probe: bool, tokens: int) -> None:
        gates = self._gates
        if probe or not gate.healthy:
            closed = await gates.state.record_success(self.model, gates.clock.now())
            if closed is not None:
                gates.note(self.model, closed)
        if self._tpm is not None and tokens:
            await self._tpm.charge(tokens)

    async def _failed(self, error: JuristError, probe: bool) -> None:
        gates, policy = self._gates, self.policy
        now = gates.clock.now()
        if isinstance(error, RateLimited):  # the upstream answers: alive, but every node must wait
            pause = min(MAX_PAUSE_SECONDS, error.retry_after or DEFAULT_PAUSE_SECONDS)
            if probe:
                await gates.state.record_success(self.model, now)
            gates.note(self.model, await gates.state.pause(self.model, now + pause, now))
            return
        if isinstance(error, BackendRejected):  # our input was refused: the upstream works
            if probe:
                closed = await gates.state.record_success(self.model, now)
                if closed is not None:
                    gates.note(self.model, closed)
            return
        if not isinstance(error, BackendError) or not policy.circuit:
            return
        cooldown = policy.circuit_cooldown
        gate = await gates.state.record_failure(self.model, now, policy.circuit_failures, cooldown)
        gates.note(self.model, gate)
        if probe:
            raise UpstreamPaused(
                f"model {self.model!r}: its upstream is still failing ({error.message}); the circuit "
                f"breaker is open again, retry in {cooldown:.1f} s",
                retry_after=cooldown,
            ) from error


def guard(
    model: str, backend: Backend, policy: UpstreamPolicy, gates: UpstreamGates, buckets: RateBuckets
) -> Backend:
    """``backend`` behind its model's limits and circuit breaker, when the policy sets any."""
    return GuardedBackend(model, backend, policy, gates, buckets) if policy.needed else backend
