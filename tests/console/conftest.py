from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.support.console import chromium
from tests.support.live import LiveServer, live_server
from tests.support.services import FAKE_MODELS
from tests.support.trust import Judge

ADMIN = "sk-admin-console-0123456789"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    found = context.new_page()
    errors: list[str] = []
    found.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield found
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def judge() -> Judge:
    return Judge(biased=True)


@pytest.fixture
def server(tmp_path: Path, judge: Judge) -> Iterator[LiveServer]:
    """A live ``jurist`` server (real HTTP) with the console, scripted judges and an admin key."""
    backends = dict.fromkeys(FAKE_MODELS, judge)
    with live_server(tmp_path, models=FAKE_MODELS, backends=backends, admin_key=ADMIN) as srv:
        yield srv
