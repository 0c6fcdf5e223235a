"""Several live Jurist servers on one database in front of one stub upstream: the setting of the shared
upstream limits (rpm, the 429 pause, the circuit breaker), and reading a batch's lines straight from
that database."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.batches import AUTH, create_batch_raw, upload_raw
from tests.support.http import RawResponse
from tests.support.live import LiveServer, StubUpstream, live_server


def shared_db(tmp_path: Path) -> Path:
    return tmp_path / "shared.db"


@contextlib.contextmanager
def servers_on_one_database(
    tmp_path: Path,
    stub: StubUpstream,
    workers: tuple[bool, ...] = (True, True),
    settings: dict[str, Any] | None = None,
    **model: Any,
) -> Iterator[list[LiveServer]]:
    """One live server per entry of ``workers`` (whether it runs a batch worker), all on one SQLite
    database, each with the model ``pai-judge`` on ``stub`` and the options ``model`` (and ``settings``).
    The judge cache is off, so every request reaches the upstream."""
    models = {"pai-judge": {"backend": "openai", "base_url": stub.base_url, "model": "stub-judge", **model}}
    url = f"sqlite:///{shared_db(tmp_path)}"
    options = {"database_url": url, "cache": False, "worker_poll_seconds": 0.05, "retry_base_seconds": 0.05}
    options.update(settings or {})
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(live_server(tmp_path / f"node{i}", models=models, run_worker=w, **options))
            for i, w in enumerate(workers)
        ]
        yield servers


def chat(server: LiveServer, content: str) -> RawResponse:
    """One custom-template chat completion (one upstream call)."""
    body = {"model": "pai-judge", "messages": [{"role": "user", "content": content}]}
    return server.request("POST", server.base_url + "/chat/completions", json.dumps(body), AUTH)


def submit_lines(server: LiveServer, count: int, tag: str = "line") -> str:
    """A batch of ``count`` distinct custom-template lines for ``pai-judge``; its id."""
    lines = "".join(
        json.dumps(
            {"custom_id": f"{tag}-{i}", "body": {"model": "pai-judge", "messages": [
                {"role": "user", "content": f"Rate {tag} {i}."}]}}
        ) + "\n"
        for i in range(count)
    )  # fmt: skip
    return create_batch_raw(server, upload_raw(server, lines))


def line_attempts(tmp_path: Path, batch_id: str, state: str | None = None) -> dict[int, int]:
    """Each line's ``attempts`` (only the lines in ``state``, when given), read from the shared
    database."""
    query = "SELECT line, attempts FROM batch_requests WHERE batch_id = ?" + (
        " AND state = ?" if state else ""
    )
    with contextlib.closing(sqlite3.connect(shared_db(tmp_path), timeout=30)) as conn:
        rows = conn.execute(query, (batch_id, state) if state else (batch_id,)).fetchall()
    return {int(line): int(attempts) for line, attempts in rows}


def lines_of(tmp_path: Path, batch_id: str) -> dict[int, tuple[int, float]]:
    """Each queued line's ``attempts`` and ``not_before`` (0 until a retry sets it: a line never
    claimed and sent back), read from the shared database."""
    with contextlib.closing(sqlite3.connect(shared_db(tmp_path), timeout=30)) as conn:
        rows = conn.execute(
            "SELECT line, attempts, not_before FROM batch_requests WHERE batch_id = ? ORDER BY line",
            (batch_id,),
        ).fetchall()
    return {int(line): (int(attempts), float(not_before)) for line, attempts, not_before in rows}


def within_gcra(times: list[float], limit: int, slack: int = 1) -> bool:
    """Whether arrivals ``times`` fit a bucket of ``limit`` per minute: in any span of ``s`` seconds at
    most ``limit + s × limit / 60`` (``slack``: one request taken just before another arrives after it)."""
    times = sorted(times)
    return all(
        j - i + 1 <= limit + (times[j] - times[i]) * limit / 60 + slack
        for i in range(len(times))
        for j in range(i, len(times))
    )
