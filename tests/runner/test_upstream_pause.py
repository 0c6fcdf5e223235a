"""Batch lines wait out an upstream that is paused or down without burning their attempts: the workers
claim nothing while the model is paused (on any server), a line sent back by the pause or the open
circuit keeps its attempt, and every line succeeds once the upstream recovers."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.batches import wait_for_raw
from tests.support.live import StubUpstream
from tests.support.upstream_limits import chat, line_attempts, lines_of, servers_on_one_database, submit_lines

LINES = 8


def test_a_429_on_one_server_stops_the_other_servers_worker_until_the_pause_ends(
    tmp_path: Path, stub: StubUpstream
) -> None:
    with servers_on_one_database(tmp_path, stub, workers=(False, True), max_concurrency=4) as (api, worker):
        stub.control(429, retry_after="2")
        assert chat(api, "rate limited").status == 429
        paused_at = time.monotonic()
        stub.control(200)
        time.sleep(0.3)  # every server sees the pause within 0.25 s
        batch_id = submit_lines(worker, LINES)
        time.sleep(1.0)
        assert stub.chats() == 1
        # the worker claimed nothing while the model was paused (no line was even sent back)
        assert set(lines_of(tmp_path, batch_id).values()) == {(0, 0.0)}
        done = wait_for_raw(worker, batch_id, {"completed"}, timeout=20)
        assert time.monotonic() - paused_at >= 2
        assert done.request_counts is not None and done.request_counts.completed == LINES
        assert stub.chats() == 1 + LINES


def test_lines_keep_their_attempts_while_the_circuit_is_open(tmp_path: Path, stub: StubUpstream) -> None:
    """One attempt per line (``max_attempts=1``): a line that burned one while the upstream was down
    would fail. Probes go through while it is down and fail; their lines get the attempt back."""
    cooldown = 0.4
    options = {"circuit_failures": 2, "circuit_cooldown_seconds": cooldown, "max_concurrency": 4}
    once = {"max_attempts": 1}
    with servers_on_one_database(tmp_path, stub, workers=(True,), settings=once, **options) as (server,):
        stub.control(503)
        assert [chat(server, f"down {i}").status for i in range(2)] == [502, 502]  # the circuit opens
        batch_id = submit_lines(server, LINES)
        time.sleep(4 * cooldown)
        probes = stub.chats() - 2
        assert 1 <= probes <= 5  # about one failed probe per cooldown, no more
        # every line waiting in the queue has its attempt back (one caught in flight at this instant,
        # a probe or a line bounced at the cooldown's end, holds its claim's attempt until sent back)
        waiting = line_attempts(tmp_path, batch_id, state="queued")
        assert len(waiting) >= LINES - 4 and set(waiting.values()) == {0}
        stub.control(200)
        done = wait_for_raw(server, batch_id, {"completed"}, timeout=20)
        assert done.request_counts is not None
        assert (done.request_counts.completed, done.request_counts.failed) == (LINES, 0)
        assert set(line_attempts(tmp_path, batch_id).values()) == {1}  # only the attempt that succeeded
