"""Files and labels hardening over real HTTP: file names (RFC 6266 downloads, control characters refused
at upload), a client that disconnects mid-upload (no 500 traceback), and the labels endpoint's input
limits (custom_id type, annotator/note length, duplicates, labels per request, a custom_id with '/')."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from jurist.service.trust.labels import MAX_ANNOTATOR_CHARS, MAX_LABELS_PER_REQUEST, MAX_NOTE_CHARS
from tests.support.batches import AUTH, SEED_INPUT
from tests.support.battles import Scripted, battle, completed_batch, headers, labels_url, post, single
from tests.support.http import multipart
from tests.support.live import LiveServer, live_server
from tests.support.services import FAKE_MODELS


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """A live server whose judge prefers the STRONG answer (pairwise) and scores single lines 3."""
    fake = Scripted()
    with live_server(tmp_path, models=FAKE_MODELS, backends=dict.fromkeys(FAKE_MODELS, fake)) as srv:
        yield srv


def _upload_raw_name(server: LiveServer, name: bytes) -> tuple[int, dict[str, object]]:
    """A multipart upload whose filename parameter holds ``name`` byte for byte (no client escaping)."""
    boundary = b"jurist-test-boundary"
    body = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="' + name + b'"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + SEED_INPUT.encode() + b"\r\n"
        b"--" + boundary + b"--\r\n"
    )
    content_type = f"multipart/form-data; boundary={boundary.decode()}"
    resp = server.request("POST", server.base_url + "/files", body, {**AUTH, "Content-Type": content_type})
    return resp.status, resp.json()


# --- 7. file names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ("测试.jsonl", "__.jsonl"),
        ("données été.jsonl", "donn_es _t_.jsonl"),
        ('say "hi" \\ there.jsonl', 'say \\"hi\\" \\\\ there.jsonl'),
        ("plain-name_1.jsonl", "plain-name_1.jsonl"),
    ],
)
def test_download_names_follow_rfc_6266(server: LiveServer, name: str, fallback: str) -> None:
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')  # as a browser or httpx quotes it
    status, created = _upload_raw_name(server, escaped.encode())
    assert status == 200, created
    assert created["filename"] == name
    resp = server.request("GET", f"{server.base_url}/files/{created['id']}/content", headers=AUTH)
    assert resp.status == 200, resp.body
    assert resp.body == SEED_INPUT.encode()
    assert resp.headers["content-disposition"] == (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    )


@pytest.mark.parametrize(
    "name",
    [b"a\x00b.jsonl", b"tab\there.jsonl", b"bell\x07.jsonl", b"del\x7f.jsonl", "c1\x85.jsonl".encode()],
)
def test_control_characters_in_a_file_name_are_a_400(server: LiveServer, name: bytes) -> None:
    status, error = _upload_raw_name(server, name)
    assert status == 400, error
    assert error["error"]["param"] == "file"  # type: ignore[index]
    assert error["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert "control character" in error["error"]["message"]  # type: ignore[index]
    listing = server.request("GET", server.base_url + "/files", headers=AUTH).json()
    assert listing["data"] == []


def test_a_raw_line_break_in_a_file_name_is_a_4xx_and_the_server_answers(server: LiveServer) -> None:
    status, error = _upload_raw_name(server, b"evil\r\nX-Injected: 1\r\n.jsonl")
    assert status == 400, error
    assert set(error["error"]) == {"message", "type", "param", "code"}  # type: ignore[arg-type]
    assert server.request("GET", server.base_url + "/files", headers=AUTH).json()["data"] == []


def test_sdk_escaped_control_characters_upload_and_download(server: LiveServer) -> None:
    """The official SDK (httpx) percent-escapes control characters in a file name: such a name is
    plain ASCII on arrival, stored as sent, and downloads with a well-formed header."""
    client = server.sdk()
    created = client.files.create(file=("a\r\nb.jsonl", SEED_INPUT.encode()), purpose="batch")
    assert "\r" not in created.filename and "\n" not in created.filename
    resp = server.request("GET", f"{server.base_url}/files/{created.id}/content", headers=AUTH)
    assert resp.status == 200
    assert resp.headers["content-disposition"].startswith("attachment; filename=")


# --- 10. a client that disconnects mid-upload ----------------------------------------------------


@pytest.fixture
def server_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Records of the jurist and uvicorn loggers (uvicorn's do not propagate to the root)."""
    loggers = [logging.getLogger(name) for name in ("jurist", "uvicorn", "uvicorn.error")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(caplog.handler)
        logger.setLevel(logging.DEBUG)
    caplog.handler.setLevel(logging.DEBUG)
    try:
        yield caplog
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(caplog.handler)
            logger.setLevel(level)


@pytest.mark.parametrize("path", ["/files", "/batches/batch_nonexistent/labels"])
def test_a_client_disconnecting_mid_upload_is_no_500_traceback(
    server: LiveServer, server_logs: pytest.LogCaptureFixture, path: str
) -> None:
    body, content_type = multipart({"purpose": "batch"}, ("input.jsonl", SEED_INPUT.encode() * 1000))
    head = (
        f"POST /v1{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {AUTH['Authorization']}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + body[: len(body) // 3])
        time.sleep(0.2)  # the server is reading the body
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
        r.name.startswith("jurist") and (r.levelno >= logging.ERROR or "disconnect" in r.getMessage())
        for r in server_logs.records
    ):
        time.sleep(0.05)
    time.sleep(0.2)
    noisy = [r for r in server_logs.records if r.levelno >= logging.ERROR or r.exc_info]
    assert noisy == [], [r.getMessage() for r in noisy]
    assert any("disconnect" in r.getMessage() for r in server_logs.records)
    assert server.request("GET", f"http://127.0.0.1:{server.port}/healthz").status == 200
    assert server.request("GET", server.base_url + "/files", headers=AUTH).json()["data"] == []


# --- 8. and 14. labels -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ([{"custom_id": ["p1"], "label": "1"}], "labels[0].custom_id"),
        ([{"custom_id": {"id": "p1"}, "label": "1"}], "labels[0].custom_id"),
        ([{"custom_id": "p1", "label": "1"}, {"custom_id": [], "label": "1"}], "labels[1].custom_id"),
        ([{"custom_id": 7, "label": "1"}], "labels[0].custom_id"),
    ],
)
def test_a_custom_id_that_is_not_a_string_is_a_400(server: LiveServer, body: object, param: str) -> None:
    batch_id = completed_batch(server, [battle("p1", True)])
    status, error = post(server, batch_id, body)
    assert status == 400, error
    assert error["error"]["param"] == param  # type: ignore[index]
    assert server.request("GET", labels_url(server, batch_id), headers=headers()).json()["data"] == []


def test_annotator_and_note_lengths_are_capped(server: LiveServer) -> None:
    batch_id = completed_batch(server, [battle("p1", True), single("s1")])
    at_cap = [
        {
            "custom_id": "p1",
            "label": "1",
            "annotator": "a" * MAX_ANNOTATOR_CHARS,
            "note": "n" * MAX_NOTE_CHARS,
        }
    ]
    status, posted = post(server, batch_id, at_cap)
    assert status == 200, posted
    for field, value in (
        ("annotator", "a" * (MAX_ANNOTATOR_CHARS + 1)),
        ("note", "n" * (MAX_NOTE_CHARS + 1)),
    ):
        status, error = post(
            server,
            batch_id,
            [{"custom_id": "s1", "label": 3}, {"custom_id": "p1", "label": "2", field: value}],
        )
        assert status == 400, error
        assert error["error"]["param"] == f"labels[1].{field}"  # type: ignore[index]
        assert (
            str(MAX_ANNOTATOR_CHARS if field == "annotator" else MAX_NOTE_CHARS) in error["error"]["message"]
        )  # type: ignore[index]
    listing = server.request("GET", labels_url(server, batch_id), headers=headers()).json()["data"]
    assert [(d["custom_id"], d["label"]) for d in listing] == [("p1", "1")]


def test_duplicate_labels_in_one_post_are_a_400_naming_the_duplicate(server: LiveServer) -> None:
    batch_id = completed_batch(server, [battle("p1", True), battle("p2", False)])
    body = [
        {"custom_id": "p1", "label": "1"},
        {"custom_id": "p2", "label": "2", "annotator": "ann"},
        {"custom_id": "p1", "label": "2", "annotator": "default"},  # the same line and annotator again
    ]
    status, error = post(server, batch_id, body)
    assert status == 400, error
    assert error["error"]["param"] == "labels[2]"  # type: ignore[index]
    assert "labels[0]" in error["error"]["message"]  # type: ignore[index]
    assert server.request("GET", labels_url(server, batch_id), headers=headers()).json()["data"] == []
    # the same line by two annotators is no duplicate
    status, posted = post(
        server,
        batch_id,
        [{"custom_id": "p1", "label": "1"}, {"custom_id": "p1", "label": "2", "annotator": "b"}],
    )
    assert status == 200, posted


def test_a_label_whose_custom_id_holds_a_slash_can_be_deleted(server: LiveServer) -> None:
    batch_id = completed_batch(server, [battle("team/a/1", True), battle("x%2Fy", False)])
    status, posted = post(server, batch_id, [
        {"custom_id": "team/a/1", "label": "1", "annotator": "ann"},
        {"custom_id": "team/a/1", "label": "1"},
        {"custom_id": "x%2Fy", "label": "2"},
    ])  # fmt: skip
    assert status == 200, posted
    url = labels_url(server, batch_id)
    gone = server.request("DELETE", url + "/team/a/1?annotator=ann", headers=headers())
    assert gone.status == 200, gone.body
    assert gone.json() == {
        "object": "batch.label.deleted",
        "custom_id": "team/a/1",
        "annotator": "ann",
        "deleted": True,
    }
    encoded = server.request("DELETE", url + "/" + quote("team/a/1", safe=""), headers=headers())
    assert encoded.status == 200, encoded.body
    assert encoded.json()["custom_id"] == "team/a/1"
    literal = server.request("DELETE", url + "/" + quote("x%2Fy", safe=""), headers=headers())
    assert literal.status == 200, literal.body
    assert server.request("GET", url, headers=headers()).json()["data"] == []
    missing = server.request("DELETE", url + "/team/a/1", headers=headers())
    assert missing.status == 404 and missing.json()["error"]["type"] == "invalid_request_error"


def test_labels_per_request_are_capped(server: LiveServer) -> None:
    batch_id = completed_batch(server, [battle("p1", True)])
    many = [
        {"custom_id": "p1", "label": "1", "annotator": f"a{i}"} for i in range(MAX_LABELS_PER_REQUEST + 1)
    ]
    status, error = post(server, batch_id, many)
    assert status == 413, error
    assert error["error"]["param"] == "labels"  # type: ignore[index]
    assert "jurist labels import" in error["error"]["message"]  # type: ignore[index]
    jsonl = "\n".join(json.dumps(item) for item in many)
    status, error = post(server, batch_id, jsonl)
    assert status == 413 and error["error"]["param"] == "labels"  # type: ignore[index]
    assert server.request("GET", labels_url(server, batch_id), headers=headers()).json()["data"] == []
    status, posted = post(server, batch_id, many[:MAX_LABELS_PER_REQUEST])
    assert status == 200, posted
    assert len(posted["data"]) == MAX_LABELS_PER_REQUEST  # type: ignore[arg-type]
