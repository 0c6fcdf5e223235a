"""Headless Chromium (playwright) for the pages under test: the browser, signing in to a live server's
console, and screenshots kept as test artifacts (``artifacts/console/``, not committed: look at them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

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
