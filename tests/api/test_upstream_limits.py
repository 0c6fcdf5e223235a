"""The provider's limits kept by every server together: a model's rpm across two live servers on one
database, an upstream 429 pausing the model everywhere, and the circuit breaker with its one probe;
the stub upstream counts what reaches it."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.live import StubUpstream
from tests.support.upstream_limits import chat, servers_on_one_database, within_gcra

RPM = 60


def test_two_servers_never_send_more_than_the_models_rpm(tmp_path: Path, stub: StubUpstream) -> None:
    total = RPM + 4  # the burst, then one a second
    with (
        servers_on_one_database(tmp_path, stub, workers=(False, False), rpm=RPM) as servers,
        ThreadPoolExecutor(16) as pool,
    ):
        started = time.monotonic()
        answers = list(pool.map(lambda i: chat(servers[i % 2], f"Rate answer {i}."), range(total)))
        took = time.monotonic() - started
    assert [a.status for a in answers] == [200] * total  # the late ones waited their turn
    times = stub.stats()["times"]
    assert len(times) == total
    assert within_gcra(times, RPM)
    assert took >= 2.5  # four past the burst, one a second
    assert not within_gcra([0.0] * total, RPM)  # the check itself sees a burst past the limit


def test_an_upstream_429_pauses_the_model_on_every_server(tmp_path: Path, stub: StubUpstream) -> None:
    with servers_on_one_database(tmp_path, stub, workers=(False, False)) as (a, b):
        stub.control(429, retry_after="1.5")
        paused = chat(a, "first")
        assert paused.status == 429 and paused.headers["retry-after"] == "2"  # the upstream's, passed on
        assert paused.json()["error"]["code"] == "rate_limit_exceeded"
        stub.control(200)
        other = chat(b, "second")  # the other server does not call the upstream until the pause ends
        assert other.status == 503, other.body
        error = other.json()["error"]
        assert error["code"] == "upstream_paused" and "paused" in error["message"]
        assert other.headers["retry-after"] in ("1", "2")
        assert chat(a, "third").status == 503
        assert stub.chats() == 1
        time.sleep(1.6)
        assert chat(b, "fourth").status == 200 and chat(a, "fifth").status == 200
        assert stub.chats() == 3


def test_the_circuit_opens_fails_fast_and_lets_exactly_one_probe_through(
    tmp_path: Path, stub: StubUpstream
) -> None:
    cooldown = 0.6
    options = {"circuit_failures": 3, "circuit_cooldown_seconds": cooldown}
    with servers_on_one_database(tmp_path, stub, workers=(False, False), **options) as (a, b):
        stub.control(503)
        assert [chat(a, f"down {i}").status for i in range(3)] == [502, 502, 502]
        opened = time.monotonic()
        fast = chat(b, "while open")  # the other server fails fast too, without calling the upstream
        assert fast.status == 503 and fast.json()["error"]["code"] == "upstream_paused"
        assert "circuit breaker" in fast.json()["error"]["message"]
        assert stub.chats() == 3
        # the upstream recovers (slowly); after the cooldown one call of many, on either server, probes
        stub.control(200, delay_ms=400)
        time.sleep(max(0.0, opened + cooldown + 0.05 - time.monotonic()))
        with ThreadPoolExecutor(6) as pool:
            statuses = sorted(pool.map(lambda i: chat((a, b)[i % 2], f"probe? {i}").status, range(6)))
        assert statuses == [200] + [503] * 5
        assert stub.chats() == 4
        time.sleep(0.3)  # the servers' views of the gate are at most 0.25 s old
        assert chat(a, "closed").status == 200 and chat(b, "closed").status == 200
        assert stub.chats() == 6


def test_a_failed_probe_opens_the_circuit_for_another_cooldown(tmp_path: Path, stub: StubUpstream) -> None:
    cooldown = 0.5
    options = {"circuit_failures": 2, "circuit_cooldown_seconds": cooldown}
    with servers_on_one_database(tmp_path, stub, workers=(False, False), **options) as (a, b):
        stub.control(500)
        assert [chat(a, f"down {i}").status for i in range(2)] == [502, 502]
        time.sleep(cooldown + 0.05)
        probe = chat(b, "probe")  # still failing: the probe's caller learns the circuit is open again
        assert probe.status == 503, probe.body
        assert "still failing" in probe.json()["error"]["message"]
        assert stub.chats() == 3
        assert chat(a, "right after").status == 503 and chat(b, "right after").status == 503
        assert stub.chats() == 3
        stub.control(200)
        time.sleep(cooldown + 0.05)
        assert chat(a, "probe again").status == 200
        time.sleep(0.3)
        assert chat(b, "closed").status == 200
        assert stub.chats() == 5


def test_tokens_are_counted_after_each_call_and_hold_the_next(tmp_path: Path, stub: StubUpstream) -> None:
    """The stub's answer costs 483 tokens: three calls fit a 1,400-token minute (the third goes into
    debt), the fourth, on either server, waits until the debt is paid: (3 × 483 − 1400) × 60 / 1400 s."""
    with servers_on_one_database(tmp_path, stub, workers=(False, False), tpm=1400) as (a, b):
        assert [chat((a, b)[i % 2], f"tokens {i}").status for i in range(3)] == [200] * 3
        started = time.monotonic()
        assert chat(b, "held").status == 200
        assert time.monotonic() - started >= 1.8
        assert stub.chats() == 4
