"""Run a real Jurist server (uvicorn, real sockets) in a background thread for tests, and the stub
upstream as a process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from openai import OpenAI

from jurist.api.app import create_app, server_options
from jurist.composition import Services
from tests.support import http
from tests.support.services import API_KEY, services_for

SUPPORT = Path(__file__).parent


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class LiveServer:
    def __init__(self, services: Services, uvicorn_options: dict[str, Any] | None = None) -> None:
        self.services = services
        self._sock = free_socket()
        self.port = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        options = server_options() if uvicorn_options is None else uvicorn_options
        config = uvicorn.Config(
            create_app(services), log_level="warning", access_log=False, lifespan="on", **options
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._clients: list[OpenAI] = []

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._sock.close()
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self._clients:
            client.close()
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._sock.close()

    def request(
        self, method: str, url: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
    ) -> http.RawResponse:
        """One raw HTTP request over a real socket (``url`` is absolute: ``base_url`` + a path)."""
        return http.request(method, url, body, headers)

    def sdk(self, key: str = API_KEY, base_url: str | None = None, **headers: str) -> OpenAI:
        """An official SDK client for this server (no retries), closed when the server stops."""
        client = OpenAI(
            api_key=key, base_url=base_url or self.base_url, max_retries=0, default_headers=headers or None
        )
        self._clients.append(client)
        return client


def live_server(tmp_path: Path, uvicorn_options: dict[str, Any] | None = None, **options: Any) -> LiveServer:
    """Use as ``with live_server(tmp_path, models=..., **settings) as srv``: the options of
    ``tests.support.services.services_for``; ``uvicorn_options``: the server's
    (``jurist.api.app.server_options``, as ``jurist serve`` uses them, by default)."""
    return LiveServer(services_for(tmp_path, **options), uvicorn_options)


class StubUpstream:
    """A stand-in for a remote provider as a process on a free port: by default the shared benchmark
    stub (an OpenAI-compatible upstream with fault injection); ``script`` another one, such as
    ``judge_stub.py`` (verdicts filling Jurist's schema)."""

    def __init__(self, *args: str, script: str = "stub_upstream.py") -> None:
        sock = free_socket()
        self.port = sock.getsockname()[1]
        sock.close()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        # -P: the script's folder (tests/support, whose http.py would hide the standard one) is not on sys.path
        cmd = [sys.executable, "-P", str(SUPPORT / script), "--port", str(self.port), *args]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def __enter__(self) -> StubUpstream:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return self
            if self._proc.poll() is not None:
                error = self._proc.stderr.read() if self._proc.stderr else b""
                self.__exit__()
                raise RuntimeError(f"stub exited: {error!r}")
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("stub did not start")

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stderr is not None:
            self._proc.stderr.close()

    def control(
        self, status: int = 200, retry_after: str | None = None, delay_ms: float | None = None
    ) -> None:
        """From now on answer every chat request with ``status`` (429 and 503 with ``Retry-After``
        when given; 200: normally), after ``delay_ms`` when given."""
        mode: dict[str, Any] = {"status": status, "retry_after": retry_after}
        if delay_ms is not None:
            mode["delay_ms"] = delay_ms
        resp = http.request("POST", f"http://127.0.0.1:{self.port}/_stub/mode", json.dumps(mode))
        assert resp.status == 200, resp.body

    def stats(self) -> dict[str, Any]:
        """The counters; ``times``: the arrival of each chat request (seconds since the epoch)."""
        stats: dict[str, Any] = http.request("GET", f"http://127.0.0.1:{self.port}/_stub/stats").json()
        return stats

    def chats(self) -> int:
        """Chat requests received so far."""
        return int(self.stats()["chat"])


class ManualClock:
    """A clock the test moves: real time plus an offset."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class FrozenClock:
    """A clock that stands still until the test moves it (exact rate-limit figures)."""

    def __init__(self, start: float | None = None) -> None:
        self.at = time.time() if start is None else start

    def now(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds
