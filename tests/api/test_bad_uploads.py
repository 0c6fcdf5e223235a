"""A catalogue of malformed uploads and requests: each a 4xx in the envelope, nothing stored half-way."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.support.batches import SEED_INPUT, upload, wait_for
from tests.support.http import Server, multipart, request
from tests.support.inprocess import InProcessServer
from tests.support.live import LiveServer, live_server
from tests.support.services import API_KEY


def stored_files(server: Server) -> list[Path]:
    root = server.services.settings.data_dir / "files"
    return sorted(root.iterdir()) if root.exists() else []


@pytest.mark.parametrize(
    ("fields", "file", "status", "param"),
    [
        ({"purpose": "batch"}, ("input.txt", SEED_INPUT.encode()), 400, "file"),  # not .jsonl
        ({"purpose": "fine-dining"}, ("input.jsonl", SEED_INPUT.encode()), 400, "purpose"),
        ({"purpose": "batch_output"}, ("input.jsonl", SEED_INPUT.encode()), 400, "purpose"),  # ours only
        ({}, ("input.jsonl", SEED_INPUT.encode()), 400, "purpose"),
        ({"purpose": "batch"}, None, 400, "file"),
        ({"purpose": "batch"}, ("input.jsonl", b'{"custom_id": "\xff\xfe"}\n'), 400, "file"),  # broken UTF-8
        ({"purpose": "batch"}, ("input.jsonl", b""), 400, "file"),
        (
            {"purpose": "batch", "expires_after[seconds]": "5"},
            ("input.jsonl", SEED_INPUT.encode()),
            400,
            "expires_after[seconds]",
        ),
    ],
)
def test_malformed_uploads(
    app: InProcessServer, fields: dict[str, str], file: tuple[str, bytes] | None, status: int, param: str
) -> None:
    body, content_type = multipart(fields, file)
    resp = app.request(
        "POST",
        app.base_url + "/files",
        body,
        {"Authorization": f"Bearer {API_KEY}", "Content-Type": content_type},
    )
    assert resp.status == status, resp.body
    assert resp.json()["error"]["param"] == param
    assert stored_files(app) == []


def test_oversize_and_single_huge_line(tmp_path: Path) -> None:
    with live_server(tmp_path, models={"pai-judge": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1"}},
                     max_file_bytes=1_000_000) as srv:  # fmt: skip
        client = srv.sdk()
        line = json.dumps(
            {
                "custom_id": "x",
                "body": {"model": "pai-judge", "messages": [{"role": "user", "content": "a" * 1_100_000}]},
            }
        )
        with pytest.raises(openai.APIStatusError) as info:
            client.files.create(file=("big.jsonl", io.BytesIO(line.encode())), purpose="batch")
        assert info.value.status_code == 413
        body, content_type = multipart({"purpose": "batch"}, ("big.jsonl", line.encode()))
        chunked = request("POST", srv.base_url + "/files", _chunked(body),
                          {"Authorization": f"Bearer {API_KEY}", "Content-Type": content_type, "Transfer-Encoding": "chunked"})  # fmt: skip
        assert chunked.status == 413
        assert stored_files(srv) == [] and list(client.files.list()) == []


def _chunked(data: bytes) -> bytes:
    out = b""
    for i in range(0, len(data), 65536):
        piece = data[i : i + 65536]
        out += hex(len(piece))[2:].encode() + b"\r\n" + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def test_quota_is_checked_before_accepting_bytes(tmp_path: Path) -> None:
    with live_server(tmp_path, models={"pai-judge": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1"}},
                     tenant_quota_bytes=1000) as srv:  # fmt: skip
        client = srv.sdk()
        upload(client, tmp_path, SEED_INPUT)
        with pytest.raises(openai.RateLimitError) as info:  # a per-tenant limit: 429, as the others
            upload(client, tmp_path, SEED_INPUT, "second.jsonl")
        assert "quota" in info.value.message.lower()
        assert len(list(client.files.list())) == 1


def test_nested_json_bomb_line_fails_validation_cleanly(client: OpenAI, tmp_path: Path) -> None:
    bomb = '{"custom_id": "b", "body": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    file_id = upload(client, tmp_path, SEED_INPUT + bomb)
    batch = client.batches.create(
        endpoint="/v1/chat/completions", input_file_id=file_id, completion_window="24h"
    )
    failed = wait_for(client, batch.id, {"failed"})
    assert failed.errors and failed.errors.data and failed.errors.data[0].code == "invalid_json_line"
    assert failed.errors.data[0].line == 3


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (
            {"input_file_id": "file-nope", "endpoint": "/v1/chat/completions", "completion_window": "24h"},
            "input_file_id",
        ),
        ({"endpoint": "/v1/chat/completions", "completion_window": "24h"}, "input_file_id"),
        ({"input_file_id": "f", "endpoint": "/v1/embeddings", "completion_window": "24h"}, "endpoint"),
        (
            {"input_file_id": "f", "endpoint": "/v1/chat/completions", "completion_window": "48h"},
            "completion_window",
        ),
        (
            {
                "input_file_id": "f",
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
                "metadata": {"k": 1},
            },
            "metadata.k",
        ),
        (
            {
                "input_file_id": "f",
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
                "metadata": {f"k{i}": "v" for i in range(17)},
            },
            "metadata",
        ),
    ],
)
def test_bad_batch_creates(app: InProcessServer, body: dict[str, Any], param: str) -> None:
    resp = app.request(
        "POST", app.base_url + "/batches", json.dumps(body), {"Authorization": f"Bearer {API_KEY}"}
    )
    assert resp.status in (400, 404), resp.body
    assert resp.json()["error"]["param"] == param
    assert (
        app.request("GET", app.base_url + "/batches", headers={"Authorization": f"Bearer {API_KEY}"}).json()[
            "data"
        ]
        == []
    )


def test_batch_from_a_non_batch_file_and_unknown_ids(server: LiveServer, client: OpenAI) -> None:
    other = client.files.create(file=("notes.txt", io.BytesIO(b"hello")), purpose="user_data")
    with pytest.raises(openai.BadRequestError):
        client.batches.create(
            endpoint="/v1/chat/completions", input_file_id=other.id, completion_window="24h"
        )
    for call in (lambda: client.files.retrieve("file-nope"), lambda: client.files.content("file-nope"),
                 lambda: client.files.delete("file-nope"), lambda: client.batches.retrieve("batch_nope"),
                 lambda: client.batches.cancel("batch_nope")):  # fmt: skip
        with pytest.raises(openai.NotFoundError):
            call()
    for query in ("limit=0", "limit=10001", "order=sideways", "limit=abc", "purpose=bogus"):
        resp = request(
            "GET", server.base_url + "/files?" + query, headers={"Authorization": f"Bearer {API_KEY}"}
        )
        assert resp.status == 400, query
