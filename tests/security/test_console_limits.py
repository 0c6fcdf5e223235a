"""Limits on what a client may send (real HTTP against a live server, raw sockets where the SDK or
http.client would never misbehave): the console's forms are size-capped before they are read (a
declared Content-Length, and chunked bodies counted as they stream), the console's query integers never
answer 500, an oversized form field is an ``invalid_request_error``, and a client that sends its request
slowly (headers or body) is cut off after the read timeouts."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request

from jurist.api.app import server_options
from jurist.api.errors import handle_http_exception
from tests.support import http
from tests.support.live import LiveServer, live_server
from tests.support.services import API_KEY, FAKE_MODELS
from tests.support.trust import Judge, lines, run

MiB = 1024 * 1024
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    backends = dict.fromkeys(FAKE_MODELS, Judge(biased=True))
    options = server_options(read_timeout=2.0, keep_alive=2)
    with live_server(tmp_path, models=FAKE_MODELS, backends=backends, uvicorn_options=options) as srv:
        yield srv


def origin(server: LiveServer) -> str:
    return f"http://127.0.0.1:{server.port}"


def connect(server: LiveServer, timeout: float = 10) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def read_head(sock: socket.socket) -> bytes:
    """What the server answers up to the end of its headers (b"" when it just closes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def read_response(sock: socket.socket) -> bytes:
    """One whole response (its body by Content-Length): its head."""
    data = read_head(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: *(\d+)", head)
    left = int(length.group(1)) - len(body) if length else 0
    while left > 0:
        chunk = sock.recv(left)
        assert chunk
        left -= len(chunk)
    return head


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closes ``sock`` (reading and dropping what it sends), None if it is
    still open after ``seconds``."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < seconds:
        try:
            if not sock.recv(65536):
                return time.monotonic() - start
        except TimeoutError:
            continue
        except ConnectionError:
            return time.monotonic() - start
    return None


def exchange(
    server: LiveServer, method: str, path: str, body: bytes | str | None = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """One request: its status, the cookies it sets (every Set-Cookie header) and its body."""
    conn = HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body, {k.replace("_", "-"): v for k, v in headers.items()})
        resp = conn.getresponse()
        jar: SimpleCookie = SimpleCookie()
        for name, value in resp.getheaders():
            if name.lower() == "set-cookie":
                jar.load(value)
        return resp.status, {k: m.value for k, m in jar.items()}, resp.read()
    finally:
        conn.close()


def signed_in(server: LiveServer) -> str:
    """A session cookie header for API_KEY's tenant, signed in over raw HTTP."""
    _, jar, page = exchange(server, "GET", "/console/sign-in")
    token = re.search(rb'name="form_token" value="([^"]+)"', page)
    assert token is not None
    body = urlencode({"api_key": API_KEY, "form_token": token.group(1).decode(), "next": "/console/"})
    cookie = f"jurist_sign_in={jar['jurist_sign_in']}"
    status, jar, text = exchange(server, "POST", "/console/sign-in", body, Content_Type=FORM, Cookie=cookie)
    assert status == 303, text
    return f"jurist_session={jar['jurist_session']}"


# 6. console forms: capped before they are read


def test_a_sign_in_post_declaring_200_mib_is_413_before_the_body_is_read(server: LiveServer) -> None:
    sock = connect(server)
    with sock:
        sock.sendall(
            b"POST /console/sign-in HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n"
            + f"Content-Length: {200 * MiB}\r\n\r\n".encode()
            + b'--b\r\nContent-Disposition: form-data; name="api_key"\r\n\r\n'
            + b"x" * 4096
        )
        start = time.monotonic()
        head = read_head(sock)
        assert head.startswith(b"HTTP/1.1 413"), head[:200]
        assert time.monotonic() - start < 5
        assert b"text/html" in head.lower()
        # the rest of the body is not waited for: the server closes the connection
        assert closed_within(sock, 5) is not None


def test_a_chunked_sign_in_post_is_cut_at_the_cap(server: LiveServer) -> None:
    sock = connect(server)
    with sock:
        sock.sendall(
            b"POST /console/sign-in HTTP/1.1\r\nHost: x\r\n"
            + f"Content-Type: {FORM}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        chunk = b"api_key=" + b"a" * (32 * 1024)
        sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        filler = b"a" * (32 * 1024)
        for _ in range(4):  # 160 KiB sent, the body never ends: the server must answer at the cap
            sock.sendall(b"%x\r\n%s\r\n" % (len(filler), filler))
        head = read_head(sock)
        assert head.startswith(b"HTTP/1.1 413"), head[:200]


def test_a_small_sign_in_form_still_works(server: LiveServer) -> None:
    assert signed_in(server).startswith("jurist_session=")


def test_a_signed_in_form_over_the_cap_is_a_413_page(server: LiveServer) -> None:
    session = signed_in(server)
    body = urlencode({"csrf": "x", "note": "n" * (200 * 1024)})
    resp = http.request(
        "POST", origin(server) + "/console/sign-out", body, {"Content-Type": FORM, "Cookie": session}
    )
    assert resp.status == 413, resp.body[:200]
    assert resp.headers["content-type"].startswith("text/html")


# 9. query integers


@pytest.mark.parametrize(
    ("name", "value"), [("i", "²"), ("score", "²"), ("score", "-²"), ("i", "9" * 5000), ("score", "9" * 5000)]
)
def test_review_query_integers_are_never_a_500(server: LiveServer, name: str, value: str) -> None:
    batch_id = run(server, lines("pai-judge", 1, 1))
    session = signed_in(server)
    url = f"{origin(server)}/console/batches/{batch_id}/review?{urlencode({name: value})}"
    resp = http.request("GET", url, headers={"Cookie": session})
    assert resp.status in (200, 400), (resp.status, resp.body[:300])
    assert resp.headers["content-type"].startswith("text/html")


def test_a_label_that_is_not_an_ascii_integer_is_never_a_500(server: LiveServer) -> None:
    batch_id = run(server, lines("pai-judge", 1, 0))
    session = signed_in(server)
    page = http.request(
        "GET", f"{origin(server)}/console/batches/{batch_id}/review", headers={"Cookie": session}
    )
    csrf = re.search(rb'name="csrf-token" content="([^"]+)"', page.body)
    assert csrf is not None
    for label in ("²", "9" * 5000):
        body = json.dumps({"custom_id": "e0", "label": label})
        resp = http.request(
            "POST", f"{origin(server)}/console/batches/{batch_id}/review/labels", body,
            {"Content-Type": "application/json", "Cookie": session, "X-CSRF-Token": csrf.group(1).decode()},
        )  # fmt: skip
        assert resp.status < 500, (resp.status, resp.body[:300])


# 12. an oversized form field


def test_an_oversized_form_field_on_v1_files_is_an_invalid_request_error(server: LiveServer) -> None:
    body, content_type = http.multipart({"purpose": "b" * (3 * MiB)}, ("in.jsonl", b"{}\n"))
    resp = http.request(
        "POST", server.base_url + "/files", body,
        {"Content-Type": content_type, "Authorization": f"Bearer {API_KEY}"},
    )  # fmt: skip
    assert 400 <= resp.status < 500, resp.body[:300]
    error = resp.json()["error"]
    assert error["type"] == "invalid_request_error", error
    assert set(error) >= {"message", "type", "param", "code"}


def test_an_oversized_console_form_field_is_not_a_server_error(server: LiveServer) -> None:
    # chunked (no Content-Length): starlette's own 1 MiB field limit answered 400 "server_error" JSON
    def chunks() -> Iterator[bytes]:
        yield b"api_key="
        for _ in range(32):
            yield b"k" * (64 * 1024)

    conn = HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", "/console/sign-in", chunks(), {"Content-Type": FORM}, encode_chunked=True)
        resp = conn.getresponse()
        status, content_type, body = resp.status, resp.getheader("content-type", ""), resp.read()
    except (BrokenPipeError, ConnectionResetError):  # cut at the cap before the whole body was sent
        return
    finally:
        conn.close()
    assert 400 <= status < 500, body[:300]
    assert b"server_error" not in body
    assert content_type.startswith("text/html")


async def test_a_starlette_client_error_is_an_invalid_request_error() -> None:
    # the API's mapping of starlette's HTTPException: a 4xx is the client's fault, never "server_error"
    scope = {"type": "http", "method": "POST", "path": "/v1/files", "headers": [], "query_string": b""}
    request = Request({**scope, "app": Starlette()})
    resp = await handle_http_exception(request, HTTPException(400, "Field exceeded maximum size of 1024KB."))
    assert resp.status_code == 400
    error = json.loads(bytes(resp.body))["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"] == "Field exceeded maximum size of 1024KB."


# 11. read timeouts (2 s here: ``server_options(read_timeout=2.0)``)


def test_a_connection_that_sends_nothing_is_closed(server: LiveServer) -> None:
    with connect(server) as sock:
        took = closed_within(sock, 8)
    assert took is not None and took < 6


def test_slow_headers_are_cut_off_at_the_header_timeout(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        closed = False
        for i in range(40):  # a header byte every 0.25 s: each one would reset an idle timer
            try:
                sock.sendall(b"X-Slow-%d: y\r\n" % i)
            except OSError:
                closed = True
                break
            time.sleep(0.25)
        if not closed:
            closed = closed_within(sock, 1) is not None
        assert closed, "the slow headers were still read after 10 s"
        assert time.monotonic() - start < 7


def test_a_stalled_body_is_cut_off_at_the_body_timeout(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {API_KEY}\r\nContent-Length: 1000\r\n\r\n".encode()
            + b'{"model": '
        )
        took = closed_within(sock, 8)
    assert took is not None and took < 6


def test_a_stalled_console_form_is_cut_off(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"POST /console/sign-in HTTP/1.1\r\nHost: x\r\n"
            + f"Content-Type: {FORM}\r\nContent-Length: 1000\r\n\r\napi_key=".encode()
        )
        took = closed_within(sock, 8)
    assert took is not None and took < 6


def test_a_keep_alive_connection_still_serves_requests(server: LiveServer) -> None:
    with connect(server) as sock:
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(sock).startswith(b"HTTP/1.1 200")
            time.sleep(1.0)  # under the keep-alive timeout (2 s) each time
