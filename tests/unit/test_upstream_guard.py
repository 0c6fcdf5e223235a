"""``GuardedBackend`` over a real SQLite database, in front of a scripted backend: what counts towards
the circuit breaker, the 429 when a call's turn is too far, tokens counted from a stream, and a probe
answered with a 429."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jurist.backends.base import Generation, GenerationRequest
from jurist.backends.fake import FakeBackend
from jurist.errors import BackendError, BackendRejected, RateLimited, UpstreamPaused
from jurist.service.judging.upstream import GuardedBackend, UpstreamGates, UpstreamPolicy
from jurist.store.database import SqliteDatabase
from jurist.store.migrations import upgrade
from jurist.store.rate_limits import SqlRateBuckets
from jurist.store.upstream import SqlUpstreamState
from tests.support.live import ManualClock

ASK = GenerationRequest([{"role": "user", "content": "Rate this."}])


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    database = SqliteDatabase(tmp_path / "guard.db")
    await database.open()
    await upgrade(database)
    yield database
    await database.close()


def guarded(
    db: SqliteDatabase, clock: ManualClock, policy: UpstreamPolicy
) -> tuple[GuardedBackend, FakeBackend]:
    inner = FakeBackend("fine")
    gates = UpstreamGates(SqlUpstreamState(db), clock)
    return GuardedBackend("m", inner, policy, gates, SqlRateBuckets(db)), inner


async def test_rejected_requests_do_not_open_the_circuit(db: SqliteDatabase) -> None:
    clock = ManualClock()
    backend, inner = guarded(db, clock, UpstreamPolicy(circuit=True, circuit_failures=2, circuit_cooldown=5))
    inner.enqueue(
        BackendRejected("too long"), BackendRejected("too long"), BackendError("upstream error 500")
    )
    for _ in range(3):
        with pytest.raises(BackendError):
            await backend.generate(ASK)
    assert (await SqlUpstreamState(db).gate("m")).failures == 1
    assert (await backend.generate(ASK)).text == "fine"  # a success resets the count
    assert (await SqlUpstreamState(db).gate("m")).failures == 0
    inner.enqueue(BackendError("upstream error 502"), BackendError("upstream error 503"))
    for _ in range(2):
        with pytest.raises(BackendError):
            await backend.generate(ASK)
    calls = len(inner.history)
    with pytest.raises(UpstreamPaused) as paused:
        await backend.generate(ASK)
    assert paused.value.status_code == 503 and paused.value.retry_after == pytest.approx(5, abs=0.5)
    assert len(inner.history) == calls  # failed fast


async def test_a_turn_too_far_away_is_a_429(db: SqliteDatabase) -> None:
    backend, inner = guarded(db, ManualClock(), UpstreamPolicy(rpm=1, max_wait=0.2))
    await backend.generate(ASK)
    with pytest.raises(RateLimited) as limited:
        await backend.generate(ASK)
    assert limited.value.retry_after == pytest.approx(60, abs=1)
    assert "1 requests per minute" in limited.value.message
    assert len(inner.history) == 1


async def test_a_streams_tokens_count_towards_tpm(db: SqliteDatabase) -> None:
    backend, inner = guarded(db, ManualClock(), UpstreamPolicy(tpm=100, max_wait=0.2))
    inner.enqueue(Generation("a long answer", "stop", 120, 30))
    chunks = [chunk async for chunk in backend.stream(ASK)]
    assert chunks[-1].prompt_tokens == 120
    with pytest.raises(RateLimited) as limited:  # 150 tokens of 100 a minute: in debt for 30 s
        await backend.generate(ASK)
    assert limited.value.retry_after == pytest.approx(30.6, abs=1)


async def test_a_probe_answered_with_a_429_closes_the_circuit_and_pauses(db: SqliteDatabase) -> None:
    clock = ManualClock()
    backend, inner = guarded(db, clock, UpstreamPolicy(circuit=True, circuit_failures=1, circuit_cooldown=5))
    inner.enqueue(BackendError("upstream error 500"), RateLimited("slow down", retry_after=20))
    with pytest.raises(BackendError):
        await backend.generate(ASK)
    clock.advance(5)
    with pytest.raises(RateLimited):  # the probe: the upstream answers, so it is up, but busy
        await backend.generate(ASK)
    gate = await SqlUpstreamState(db).gate("m")
    assert gate.state == "closed" and gate.failures == 0
    assert gate.closed_in(clock.now()) == pytest.approx(20, abs=0.5)
    with pytest.raises(UpstreamPaused):
        await backend.generate(ASK)
    clock.advance(20)
    assert (await backend.generate(ASK)).text == "fine"
