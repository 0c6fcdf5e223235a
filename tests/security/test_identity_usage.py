"""A sub-tenant's identity is its whole name, the same in the API and the console, and its usage is its
own (issue 18, items 5 and 13).

``X-On-Behalf-Of`` was cut at 256 characters, so a file uploaded as ``"p"*256 + "ALICE"`` could be read
as ``"p"*256 + "BOB"``; a name past the limit, or holding a control character, is now a 400 naming the
header. A UTF-8 name sent in the header (latin-1 decoded by Starlette) named another tenant than the
same name typed in the console; both are now that name. And ``GET /v1/usage`` on behalf of ``x`` also
counted ``x/y``: a sub-tenant now sees exactly its own usage."""

from __future__ import annotations

import html
import http.client
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from jurist.backends.fake import FakeBackend
from tests.support.batches import SEED_INPUT
from tests.support.http import RawResponse, multipart
from tests.support.inprocess import in_process_server
from tests.support.live import LiveServer, live_server
from tests.support.services import API_KEY, FAKE_MODELS
from tests.support.verdicts import single_verdict_json

HEADER = "X-On-Behalf-Of"


@pytest.fixture
def fake() -> FakeBackend:
    return FakeBackend(single_verdict_json(4))


@pytest.fixture
def server(tmp_path: Path, fake: FakeBackend) -> Iterator[LiveServer]:
    backends = dict.fromkeys(FAKE_MODELS, fake)
    with live_server(tmp_path, models=FAKE_MODELS, backends=backends, usage_flush_seconds=3600) as srv:
        yield srv


def raw(
    server: LiveServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, Any] | None = None,
) -> tuple[RawResponse, list[tuple[str, str]]]:
    """One request over a real socket; header values may be bytes (sent as they are, e.g. UTF-8). The
    response, and all its headers in order (several Set-Cookie included)."""
    parts = urlsplit(server.base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        listed = resp.getheaders()
        return RawResponse(resp.status, {k.lower(): v for k, v in listed}, resp.read()), listed
    finally:
        conn.close()


def api(
    server: LiveServer, method: str, path: str, behalf: str | None, body: bytes | None = None, **headers: str
) -> RawResponse:
    """An API request on behalf of ``behalf``, the header's value sent as UTF-8 bytes."""
    sent: dict[str, Any] = {"Authorization": f"Bearer {API_KEY}", **headers}
    if behalf is not None:
        sent[HEADER] = behalf.encode()
    return raw(server, method, "/v1" + path, body, sent)[0]


def upload(server: LiveServer, behalf: str | None) -> RawResponse:
    body, content_type = multipart({"purpose": "batch"}, ("input.jsonl", SEED_INPUT.encode()))
    return api(server, "POST", "/files", behalf, body, **{"Content-Type": content_type})


def assert_names_the_header(resp: RawResponse) -> None:
    assert resp.status == 400, resp.body
    error = resp.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == HEADER, error
    assert HEADER in error["message"]


def test_a_name_past_the_limit_is_refused_never_cut(server: LiveServer) -> None:
    alice, bob = "p" * 256 + "ALICE", "p" * 256 + "BOB"
    assert_names_the_header(upload(server, "p" * 257))
    assert_names_the_header(upload(server, alice))
    assert upload(server, "p" * 256).status == 200  # the limit itself is a name
    own = upload(server, None)
    assert own.status == 200, own.body
    file_id = own.json()["id"]
    assert_names_the_header(api(server, "GET", f"/files/{file_id}", "p" * 257))
    # the attack: what ALICE uploaded (were it accepted) is not BOB's to read
    for path in (f"/files/{file_id}", f"/files/{file_id}/content", "/files"):
        read = api(server, "GET", path, bob)
        assert read.status != 200, read.body
        assert_names_the_header(read)


@pytest.mark.parametrize("name", ["tab\there", "c1\x85a", "trail\x85", "line\u2028sep"])
def test_control_characters_are_refused(server: LiveServer, name: str) -> None:
    assert_names_the_header(upload(server, name))


@pytest.mark.parametrize("name", ["team\x00a", "bell\x07", "del\x7f", "esc\x1b[31m"])
def test_control_characters_an_http_parser_may_let_through_are_refused(tmp_path: Path, name: str) -> None:
    """uvicorn's parser refuses these itself; another server or a proxy may not: the app refuses them."""
    with in_process_server(tmp_path, models=FAKE_MODELS) as app:
        resp = app.request(
            "GET", f"{app.base_url}/files", None, {"Authorization": f"Bearer {API_KEY}", HEADER: name}
        )
    assert_names_the_header(resp)


def test_a_header_that_is_not_utf8_is_refused(server: LiveServer) -> None:
    resp, _ = raw(
        server, "GET", "/v1/files", None, {"Authorization": f"Bearer {API_KEY}", HEADER: b"\xe9quipe"}
    )
    assert_names_the_header(resp)


def test_two_headers_are_refused(server: LiveServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(server.base_url).port, timeout=60)
    try:
        conn.putrequest("GET", "/v1/files")
        conn.putheader("Authorization", f"Bearer {API_KEY}")
        conn.putheader(HEADER, "alice")
        conn.putheader(HEADER, "bob")
        conn.endheaders()
        resp = conn.getresponse()
        answer = RawResponse(resp.status, {}, resp.read())
    finally:
        conn.close()
    assert_names_the_header(answer)


def cookie(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        found = re.match(rf"{name}=([^;]*)", value) if key.lower() == "set-cookie" else None
        if found and found.group(1) not in ("", '""'):
            return found.group(1)
    return None


def console_sign_in(server: LiveServer, behalf: str) -> tuple[int, str | None, str]:
    """The console's sign-in form, filled in as a browser does (UTF-8, url-encoded): the answer's status,
    the session cookie (None when refused) and the page."""
    form, headers = raw(server, "GET", "/console/sign-in")
    token = re.search(r'name="form_token" value="([^"]+)"', form.body.decode())
    sign_in_cookie = cookie(headers, "jurist_sign_in")
    assert token and sign_in_cookie
    body = urlencode({"form_token": html.unescape(token.group(1)), "next": "", "api_key": API_KEY,
                      "on_behalf_of": behalf}).encode()  # fmt: skip
    resp, headers = raw(
        server, "POST", "/console/sign-in", body,
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"jurist_sign_in={sign_in_cookie}"},
    )  # fmt: skip
    return resp.status, cookie(headers, "jurist_session"), resp.body.decode()


def console_file(server: LiveServer, session: str, file_id: str) -> RawResponse:
    return raw(
        server, "GET", f"/console/files/{file_id}/content", None, {"Cookie": f"jurist_session={session}"}
    )[0]


@pytest.mark.parametrize("name", ["équipe-東京", "Ã©", "team a"])
def test_the_api_and_the_console_name_the_same_sub_tenant(server: LiveServer, name: str) -> None:
    uploaded = upload(server, name)
    assert uploaded.status == 200, uploaded.body
    file_id = uploaded.json()["id"]
    listed = api(server, "GET", "/files", name)
    assert [f["id"] for f in listed.json()["data"]] == [file_id]
    assert api(server, "GET", "/files", None).json()["data"] == []  # not the account's

    status, session, _ = console_sign_in(server, name)
    assert status == 303 and session is not None
    content = console_file(server, session, file_id)
    assert content.status == 200, content.body
    assert content.body == SEED_INPUT.encode()
    # and a neighbouring name is another tenant, in the console as in the API
    _, other, _ = console_sign_in(server, name + "x")
    assert other is not None and console_file(server, other, file_id).status == 404


def test_the_console_refuses_what_the_api_refuses(server: LiveServer) -> None:
    for name in ("p" * 257, "team\x00a", "team\na", "trail\x85"):
        status, session, page = console_sign_in(server, name)
        assert status == 400 and session is None, page
        assert HEADER in html.unescape(page)
    status, session, _ = console_sign_in(server, "p" * 256)
    assert status == 303 and session is not None


def chat(server: LiveServer, behalf: str | None) -> None:
    body = b'{"model": "pai-judge", "messages": [{"role": "user", "content": "Say hi"}]}'
    resp = api(server, "POST", "/chat/completions", behalf, body, **{"Content-Type": "application/json"})
    assert resp.status == 200, resp.body


def requests(server: LiveServer, behalf: str | None) -> int:
    resp = api(server, "GET", "/usage?group_by=model", behalf)
    assert resp.status == 200, resp.body
    total: int = resp.json()["totals"]["requests"]
    return total


def test_a_sub_tenant_sees_exactly_its_own_usage(server: LiveServer) -> None:
    counts = {"x": 1, "x/y": 2, "xy": 4, "x%": 8, "x_": 16}
    for name, times in counts.items():
        for _ in range(times):
            chat(server, name)
    chat(server, None)  # the account's own: 32 with the one above
    for name, times in counts.items():
        assert requests(server, name) == times, name
    assert requests(server, "x/") == 0 and requests(server, "_") == 0 and requests(server, "%") == 0
    assert requests(server, None) == sum(counts.values()) + 1  # the key: its account and every sub-tenant
