"""The live Jurist the documentation's examples run against: ``jurist serve`` as a real process on a free
port of 127.0.0.1, its data dir in a temp dir, its judge models (``pai-judge``, ``pai-judge-plus`` and
their cascade ``pai-judge-auto``) on the judge stub (``tests/support/judge_stub.py``: verdicts that fill
Jurist's schema by a fixed rule); and, only when an ``embedded`` block asks for it, a second one whose
models are the bundled embedded model (no configuration: the defaults).

Every block gets the server's own ``JURIST_*`` settings (so ``jurist keys``, ``jurist run``, ``jurist
labels import`` … open the same configuration and database) and the names the examples use for it:

=====================================  ======================================================
``JUDGE_MODEL_TOKEN``, ``KEY``,        the tenant's API key (``JURIST_API_KEYS``)
``JURIST_API_KEY``, ``JURIST_KEY``,
``OPENAI_API_KEY``
``OPENAI_BASE_URL``                    ``http://127.0.0.1:PORT/v1``
``JURIST``, ``JURIST_URL``             ``http://127.0.0.1:PORT``
``JURIST_ADMIN_KEY``                   the admin key; ``JURIST_METRICS_TOKEN`` the /metrics token
``PATH``                               the virtualenv's bin first (``jurist``, ``python``)
=====================================  ======================================================
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.live import StubUpstream, free_socket

KEY = "sk-docs-examples-0123456789"
ADMIN_KEY = "sk-docs-admin-0123456789"
METRICS_TOKEN = "docs-metrics-token-0123456789"
DOC_PORT = 8000  # the port the examples are written for


def stub_config(stub: StubUpstream) -> str:
    """Both PAI judge names on the stub; pai-judge-plus keeps its default policy (both orders, 3 samples)."""
    return (
        f'[models.pai-judge]\nbackend = "openai"\nbase_url = "{stub.base_url}"\n\n'
        f'[models.pai-judge-plus]\nbackend = "openai"\nbase_url = "{stub.base_url}"\n\n'
        "[models.pai-judge-plus.judging]\nswap = true\nsamples = 3\n"
    )


class DocsServer:
    """``jurist serve`` in a process of its own, ready (``/readyz`` answers 200) once entered."""

    def __init__(self, home: Path, config: str | None, start_timeout: float) -> None:
        home.mkdir(parents=True, exist_ok=True)
        sock = free_socket()
        self.port: int = sock.getsockname()[1]
        sock.close()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / "server.log"
        self.settings = {
            "JURIST_DATA_DIR": str(home / "data"),
            "JURIST_API_KEYS": KEY,
            "JURIST_ADMIN_KEY": ADMIN_KEY,
            "JURIST_METRICS_TOKEN": METRICS_TOKEN,
            "JURIST_WORKER_POLL_SECONDS": "0.05",
            "JURIST_DRAIN_SECONDS": "1",
            "JURIST_LOG_LEVEL": "warning",
        }
        if config is not None:
            (home / "jurist.toml").write_text(config)
            self.settings["JURIST_CONFIG"] = str(home / "jurist.toml")
        self._start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> DocsServer:
        env = {**_clean_environ(), **self.settings}
        with self.log.open("wb") as log:
            command = [sys.executable, "-m", "jurist", "serve", "--port", str(self.port)]
            self._proc = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + self._start_timeout
        while not self._ready():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"jurist serve did not get ready:\n{self.log_since(0)}")
            time.sleep(0.1)
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as resp:
                return int(resp.status) == 200
        except (OSError, urllib.error.HTTPError):
            return False

    def __exit__(self, *exc: object) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def log_since(self, offset: int) -> str:
        """What the server logged after ``offset`` bytes (its warnings and errors), at most 4,000 chars."""
        with self.log.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode(errors="replace")[-4000:]

    def block_env(self) -> dict[str, str]:
        """The environment of a block run against this server (see the module's docstring)."""
        venv_bin = str(Path(sys.executable).parent)
        env = _clean_environ()
        env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
        env.update(self.settings)
        env.update(dict.fromkeys(["JUDGE_MODEL_TOKEN", "KEY", "JURIST_API_KEY", "JURIST_KEY"], KEY))
        env.update(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=f"{self.url}/v1", JURIST=self.url, JURIST_URL=self.url)
        return env

    def localise(self, text: str) -> str:
        """An example's text pointed at this server instead of the documented 127.0.0.1:8000."""
        for host in ("127.0.0.1", "localhost"):
            text = text.replace(f"{host}:{DOC_PORT}", f"127.0.0.1:{self.port}")
        return text

    def as_documented(self, output: str) -> str:
        """Real output with this server's address written as the documentation writes it."""
        return output.replace(f"127.0.0.1:{self.port}", f"127.0.0.1:{DOC_PORT}")


def _clean_environ() -> dict[str, str]:
    """The test process's environment without the developer's own Jurist or OpenAI settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("JURIST_", "OPENAI_"))}


class Servers:
    """The stub and the stub-backed server, started at once; the embedded one when first asked for."""

    def __init__(self, home: Path) -> None:
        self._home = home
        self._stack = contextlib.ExitStack()
        self._embedded: DocsServer | None = None
        try:
            stub = self._stack.enter_context(StubUpstream(script="judge_stub.py"))
            self.stub = self._stack.enter_context(DocsServer(home / "stub", stub_config(stub), 60))
        except BaseException:
            self._stack.close()
            raise

    def for_block(self, embedded: bool) -> DocsServer:
        if not embedded:
            return self.stub
        if self._embedded is None:
            self._embedded = self._stack.enter_context(DocsServer(self._home / "embedded", None, 600))
        return self._embedded

    def close(self) -> None:
        self._stack.close()
