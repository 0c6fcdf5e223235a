"""The real app in process: ``jurist.api.app.create_app`` over the services ``build_services`` wires
(real store, SQLite in the test's tmp_path), driven through starlette's ``TestClient`` with the
lifespan run (database opened and migrated, backends and the batch worker started, all closed on exit).
No socket: for tests of our own HTTP behaviour. What needs real HTTP (the official SDK, curl, streaming
framing, chunked bodies, subprocesses) uses ``tests.support.live`` instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from jurist.api.app import create_app
from jurist.composition import Services
from tests.support.http import RawResponse
from tests.support.services import services_for


class InProcessServer:
    base_url = "http://testserver/v1"

    def __init__(self, services: Services) -> None:
        self.services = services
        # follow_redirects=False: answer like a raw HTTP client would.
        self._client = TestClient(create_app(services), follow_redirects=False)

    def __enter__(self) -> InProcessServer:
        self._client.__enter__()  # runs the lifespan's startup on the client's event loop
        return self

    def __exit__(self, *exc: Any) -> None:
        self._client.__exit__(*exc)

    def request(
        self, method: str, url: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
    ) -> RawResponse:
        """The same call as ``LiveServer.request``, through the ASGI interface."""
        resp = self._client.request(method, url, content=body, headers=headers)
        return RawResponse(resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, resp.content)


def in_process_server(tmp_path: Path, **options: Any) -> InProcessServer:
    """Use as ``with in_process_server(tmp_path, models=..., **settings) as app``: the options of
    ``tests.support.services.services_for``."""
    return InProcessServer(services_for(tmp_path, **options))
