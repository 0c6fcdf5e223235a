"""A tiny raw HTTP client (stdlib) for requests the official SDK would never send, and the interface
tests use for raw requests to a live or an in-process server alike."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from jurist.composition import Services


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Server(Protocol):
    """A running Jurist: ``tests.support.live.LiveServer`` (real socket) or
    ``tests.support.inprocess.InProcessServer`` (ASGI, in process)."""

    base_url: str
    services: Services

    def request(
        self, method: str, url: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
    ) -> RawResponse: ...


def request(
    method: str, url: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
) -> RawResponse:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        data = body.encode() if isinstance(body, str) else body
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), data, headers or {})
        resp = conn.getresponse()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def multipart(fields: dict[str, str], file: tuple[str, bytes] | None) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body with ``fields`` and an optional ``file`` (name, bytes), and its
    content type."""
    boundary = "jurist-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    if file is not None:
        name, data = file
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
