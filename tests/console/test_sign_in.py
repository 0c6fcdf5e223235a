"""Signing in to the console with an API key, as a person would (headless Chromium against a live
server), and what the session cookie holds: HttpOnly, SameSite=Strict, no key; sign-out ends it on the
server; a state-changing request needs the CSRF token; a revoked key ends its sessions."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.console.conftest import ADMIN
from tests.support.console import origin, screenshot, sign_in
from tests.support.live import LiveServer
from tests.support.services import API_KEY


def test_the_root_leads_to_sign_in_and_a_wrong_key_is_refused(page: Page, server: LiveServer) -> None:
    page.goto(origin(server.base_url) + "/")
    expect(page).to_have_url(origin(server.base_url) + "/console/sign-in")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    sign_in(page, server.base_url, "sk-wrong-key-000000")
    expect(page.locator("#sign-in-error")).to_contain_text("Incorrect API key provided: sk-wro…")
    assert not [c for c in page.context.cookies() if c["name"] == "jurist_session"]
    screenshot(page, "sign-in-refused")


def sessions(tmp_path: Path) -> list[tuple[str, str]]:
    """The server's console sessions, read straight from its SQLite file."""
    with sqlite3.connect(tmp_path / "data" / "jurist.db") as db:
        return list(db.execute("SELECT id, key_digest FROM console_sessions"))


def test_a_session_is_an_httponly_strict_cookie_without_the_key(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    sign_in(page, server.base_url, API_KEY)
    expect(page.locator("#signed-in-as")).to_have_text(
        "key_" + hashlib.sha256(API_KEY.encode()).hexdigest()[:16]
    )
    cookie = next(c for c in page.context.cookies() if c["name"] == "jurist_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert API_KEY not in cookie["value"] and len(cookie["value"]) >= 40
    # the database holds the token's digest and the key's digest, never the token or the key
    digest = hashlib.sha256(cookie["value"].encode()).hexdigest()
    assert sessions(tmp_path) == [(digest, hashlib.sha256(API_KEY.encode()).hexdigest())]
    screenshot(page, "signed-in")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(origin(server.base_url) + "/console/sign-in")
    assert sessions(tmp_path) == []
    # the old cookie no longer opens anything
    replay = server.request(
        "GET", origin(server.base_url) + "/console/", headers={"Cookie": f"jurist_session={cookie['value']}"}
    )
    assert replay.status == 303 and replay.headers["location"] == "/console/sign-in"


def test_a_post_without_the_csrf_token_is_refused(page: Page, server: LiveServer) -> None:
    sign_in(page, server.base_url, API_KEY)
    cookie = next(c for c in page.context.cookies() if c["name"] == "jurist_session")
    headers = {
        "Cookie": f"jurist_session={cookie['value']}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    forged = server.request("POST", origin(server.base_url) + "/console/sign-out", "csrf=forged", headers)
    assert forged.status == 403 and b"security token" in forged.body
    assert forged.headers["content-type"].startswith("text/html")
    still = server.request(
        "GET", origin(server.base_url) + "/console/", headers={"Cookie": headers["Cookie"]}
    )
    assert still.status == 303 and still.headers["location"] == "/console/batches"  # still signed in


def test_a_revoked_key_ends_its_console_sessions(page: Page, server: LiveServer, tmp_path: Path) -> None:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    created = server.request(
        "POST", f"{server.base_url}/admin/keys", json.dumps({"name": "person", "tenant": "acme"}), admin
    ).json()
    sign_in(page, server.base_url, created["key"])
    expect(page.locator("#signed-in-as")).to_have_text("acme")
    server.request("DELETE", f"{server.base_url}/admin/keys/{created['id']}", headers=admin)
    page.wait_for_timeout(1200)  # the key cache (1 s) forgets the key
    page.goto(origin(server.base_url) + "/console/")
    expect(page).to_have_url(origin(server.base_url) + "/console/sign-in")
    assert sessions(tmp_path) == []  # the revoked key's session is gone


def test_the_admin_key_signs_in_to_an_admin_session(page: Page, server: LiveServer) -> None:
    sign_in(page, server.base_url, ADMIN)
    expect(page.locator("#signed-in-as")).to_have_text("admin")
    expect(page.get_by_role("link", name="Playground")).to_have_count(0)  # no tenant's objects


def test_an_unknown_console_page_is_an_html_404(page: Page, server: LiveServer) -> None:
    sign_in(page, server.base_url, API_KEY)
    response = page.goto(origin(server.base_url) + "/console/nothing-here")
    assert response is not None and response.status == 404
    expect(page.locator("#error-status")).to_have_text("Not found")


def test_the_console_can_be_turned_off(tmp_path: Path) -> None:
    from jurist.backends.fake import FakeBackend
    from tests.support.inprocess import in_process_server
    from tests.support.services import FAKE_MODELS

    backends = dict.fromkeys(FAKE_MODELS, FakeBackend())
    with in_process_server(tmp_path, models=FAKE_MODELS, backends=backends, console=False) as app:
        root = app.request("GET", "http://testserver/")
        assert root.status == 404 and root.json()["error"]["type"] == "invalid_request_error"
        page = app.request("GET", "http://testserver/console/sign-in")
        assert page.status == 404 and page.json()["error"]["message"].startswith("Unknown route")  # the API's
        assert (
            app.request(
                "GET", f"{app.base_url}/models", headers={"Authorization": f"Bearer {API_KEY}"}
            ).status
            == 200
        )
