"""A tenant's requests per minute hold across every API server on the database: two live servers on
one SQLite file, and on one PostgreSQL, hammered at once, accept the limit between them and no more."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest

from jurist.backends.fake import FakeBackend
from tests.support import http
from tests.support.live import LiveServer, live_server
from tests.support.postgres import reset_postgres
from tests.support.services import API_KEY, FAKE_MODELS

RPM = 10  # one request back every 6 s
CHAT = json.dumps({"model": "pai-judge", "messages": [{"role": "user", "content": "Say ok."}]})
AUTH = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_tenant_s_rpm_holds_across_two_servers(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    options: dict[str, object] = {"default_rpm": RPM, "run_worker": False, "cache": False}
    if kind == "postgresql":
        url = request.getfixturevalue("postgres_url")
        reset_postgres(url)
        options["database_url"] = url
    with ExitStack() as stack:
        servers: list[LiveServer] = []
        for _ in range(2):  # one data dir (SQLite: one file), or one PostgreSQL
            backends = dict.fromkeys(FAKE_MODELS, FakeBackend("ok"))
            servers.append(
                stack.enter_context(live_server(tmp_path, models=FAKE_MODELS, backends=backends, **options))
            )
        urls = [srv.base_url + "/chat/completions" for srv in servers] * 20
        began = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda url: _post(url), urls))
        elapsed = time.monotonic() - began
        accepted = [url for url, status in answers if status == 200]
        assert {status for _, status in answers} == {200, 429}
        assert len(accepted) == RPM + int(elapsed // (60 / RPM))  # the limit, plus what refilled meanwhile
        assert elapsed < 60 / RPM, "too slow a machine to tell"
        assert {url.split("/v1")[0] for url in accepted} == {s.base_url.split("/v1")[0] for s in servers}
        for srv in servers:  # each server now sees the bucket both of them spent
            resp = http.request("POST", srv.base_url + "/chat/completions", CHAT, AUTH)
            assert resp.status == 429
            assert resp.headers["x-ratelimit-remaining-requests"] == "0"


def _post(url: str) -> tuple[str, int]:
    return url, http.request("POST", url, CHAT, AUTH).status
