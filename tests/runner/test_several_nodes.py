"""Issue 9's proof on several nodes: two ``jurist serve`` and two ``jurist worker`` processes on one
PostgreSQL, in front of one stub upstream whose model has a provider limit (``rpm``).

One run checks, in order: a tenant's rpm limit holds across both servers; a small batch of another
tenant alone, for reference; a large batch that survives a SIGKILL of one worker and one server with
every custom_id exactly once; the same small batch submitted while the large one is held back by the
shared upstream limit finishes first, in about its time alone; and the stub never saw more calls than
the shared upstream rpm allows, counted over everything all four processes sent."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from openai import OpenAI

from tests.support.live import StubUpstream, free_socket
from tests.support.nodes import check_exactly_once, env_for, process, progress, submit, wait_http
from tests.support.postgres import reset_postgres
from tests.support.upstream_limits import within_gcra

ADMIN = "sk-admin-several-nodes"
UPSTREAM_RPM = 600  # the model's provider limit: a burst of 600 calls, then 10 a second
TENANT_RPM = 4  # acme's chat completions per minute, across both servers
BIG = 700  # acme's batch: the burst, then about 100 lines paced by the shared upstream limit
SMALL = 5  # beta's batch


def _port() -> int:
    sock = free_socket()
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def _http(
    method: str, url: str, key: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def _new_key(port: int, tenant: str, limits: dict[str, int] | None = None) -> str:
    body: dict[str, Any] = {"name": f"{tenant} key", "tenant": tenant}
    if limits:
        body["limits"] = limits
    status, _, created = _http("POST", f"http://127.0.0.1:{port}/v1/admin/keys", ADMIN, body)
    assert status == 201, created
    return str(created["key"])


def _client(port: int, key: str) -> OpenAI:
    return OpenAI(api_key=key, base_url=f"http://127.0.0.1:{port}/v1", max_retries=2)


def _small_batch_seconds(client: OpenAI, tmp_path: Path) -> float:
    began = time.monotonic()
    batch_id = submit(client, tmp_path, SMALL)
    check_exactly_once(client, batch_id, SMALL, timeout=60)
    return time.monotonic() - began


def test_two_servers_and_two_workers_share_limits_and_lose_nothing(tmp_path: Path, postgres_url: str) -> None:
    reset_postgres(postgres_url)
    with StubUpstream("--delay-ms", "40") as stub, ExitStack() as stack:
        env = env_for(tmp_path, stub, concurrency=8, JURIST_DATABASE_URL=postgres_url, JURIST_RUN_WORKER="false",
                      JURIST_ADMIN_KEY=ADMIN, JURIST_CACHE="false")  # fmt: skip
        with Path(env["JURIST_CONFIG"]).open("a") as config:
            config.write(f"rpm = {UPSTREAM_RPM}\n")
        ports = [_port(), _port()]
        servers = [stack.enter_context(process(["serve", "--port", str(p)], env)) for p in ports]
        for port in ports:
            wait_http(port)
        workers = [stack.enter_context(process(["worker"], env)) for _ in range(2)]

        acme = _new_key(ports[0], "acme", {"rpm": TENANT_RPM})
        beta = _new_key(ports[1], "beta")

        # 1. acme's rpm holds across both servers: alternate between them until well past the limit
        answers = [_http("POST", f"http://127.0.0.1:{ports[i % 2]}/v1/chat/completions", acme,
                         {"model": "pai-judge", "messages": [{"role": "user", "content": f"Hello {i}"}]})
                   for i in range(2 * TENANT_RPM)]  # fmt: skip
        statuses = [status for status, _, _ in answers]
        assert statuses == [200] * TENANT_RPM + [429] * TENANT_RPM, statuses
        for status, headers, body in answers:
            headers = {k.lower(): v for k, v in headers.items()}
            assert headers["x-ratelimit-limit-requests"] == str(TENANT_RPM)
            if status == 429:
                assert body["error"]["code"] == "rate_limit_exceeded"
                assert int(headers["retry-after"]) >= 1 and headers["x-ratelimit-remaining-requests"] == "0"

        with _client(ports[1], beta) as beta_client:
            alone = _small_batch_seconds(beta_client, tmp_path)

        # 2. acme's large batch; one worker and one server die mid-batch
        with _client(ports[0], acme) as acme_first:
            big = submit(acme_first, tmp_path, BIG)
            progress(acme_first, big, 150)
        for doomed in (workers[0], servers[0]):
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)

        with _client(ports[1], acme) as acme_client, _client(ports[1], beta) as beta_client:
            # 3. past the burst, the shared upstream limit paces acme's lines: beta's small batch
            # goes in turn with them instead of after them
            progress(acme_client, big, UPSTREAM_RPM, timeout=60)
            behind = _small_batch_seconds(beta_client, tmp_path)
            still = acme_client.batches.retrieve(big)
            assert still.status == "in_progress", still.status  # beta finished first
            assert still.request_counts is not None and still.request_counts.completed < BIG
            assert behind <= alone + 3.0, (behind, alone)
            check_exactly_once(acme_client, big, BIG, timeout=120)
        times: list[float] = stub.stats()["times"]

    # 4. everything the four processes sent upstream fits the shared limit, and the limit did bind
    sent = len(times)
    assert sent >= TENANT_RPM + 2 * SMALL + BIG
    assert within_gcra(times, UPSTREAM_RPM)
    paced = (sent - UPSTREAM_RPM) / (UPSTREAM_RPM / 60)
    assert max(times) - min(times) >= 0.8 * paced, (max(times) - min(times), paced)
