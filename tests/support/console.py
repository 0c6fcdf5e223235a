"""Headless Chromium (playwright) for the pages under test: the browser, signing in to a live server's
console, and screenshots kept as test artifacts (``artifacts/console/``, not committed: look at them)."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.live import free_socket

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "console"


@contextmanager
def chromium() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Chromium is missing: `make system-deps` installs the Debian package chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def origin(base_url: str) -> str:
    """A live server's origin (its ``base_url`` ends in /v1)."""
    return re.sub(r"/v1$", "", base_url)


def sign_in(page: Page, base_url: str, key: str, on_behalf_of: str = "") -> None:
    page.goto(origin(base_url) + "/console/sign-in")
    page.get_by_label("API key").fill(key)
    if on_behalf_of:
        page.get_by_label("On behalf of").fill(on_behalf_of)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


class JudgeStub:
    """``tests/support/judge_stub.py`` (a remote judge's stand-in: verdicts by a predictable rule) as a
    process on a free port."""

    def __init__(self) -> None:
        sock = free_socket()
        self.port = sock.getsockname()[1]
        sock.close()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        script = Path(__file__).with_name("judge_stub.py")
        self._proc = subprocess.Popen(
            [sys.executable, "-P", str(script), "--port", str(self.port)],  # -P: not its dir on sys.path
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def __enter__(self) -> JudgeStub:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return self
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("the judge stub did not start")

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
