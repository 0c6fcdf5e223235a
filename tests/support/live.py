"""Run a real Jurist server (uvicorn, real sockets) in a background thread for tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import uvicorn

from jurist.api.app import create_app
from jurist.backends.base import Backend
from jurist.composition import Services, build_services
from jurist.ids import Clock
from jurist.settings import Settings

API_KEY = "sk-test-key-0123456789"
SUPPORT = Path(__file__).parent


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class LiveServer:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._sock = free_socket()
        self.port = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        config = uvicorn.Config(create_app(services), log_level="warning", access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._sock.close()


@contextlib.contextmanager
def live_server(
    tmp_path: Path,
    models: dict[str, Any] | None = None,
    backends: Mapping[str, Backend] | None = None,
    clock: Clock | None = None,
    **settings: Any,
) -> Iterator[LiveServer]:
    options: dict[str, Any] = {"data_dir": tmp_path / "data", "api_keys": [API_KEY]}
    if models is not None:
        options["models"] = models
    options.update(settings)
    services = build_services(Settings(**options), backends=backends, clock=clock)
    with LiveServer(services) as server:
        yield server


class StubUpstream:
    """The shared benchmark stub (an OpenAI-compatible upstream with fault injection) as a process."""

    def __init__(self, *args: str) -> None:
        sock = free_socket()
        self.port = sock.getsockname()[1]
        sock.close()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        cmd = [sys.executable, str(SUPPORT / "stub_upstream.py"), "--port", str(self.port), *args]
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


class ManualClock:
    """A clock the test moves: real time plus an offset."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds
