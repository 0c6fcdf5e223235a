"""/v1/admin/keys and /v1/admin/tenants: keys in the database, managed with the admin key; revoking on
one server refuses the key on another sharing the database within a second."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jurist.backends.fake import FakeBackend
from tests.support.http import RawResponse, Server
from tests.support.inprocess import InProcessServer, in_process_server
from tests.support.live import live_server
from tests.support.postgres import reset_postgres
from tests.support.services import API_KEY, FAKE_MODELS

ADMIN = "sk-admin-0123456789"
ROOT = "http://testserver"


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def call(server: Server, method: str, path: str, body: Any = None, key: str = ADMIN) -> RawResponse:
    root = server.base_url.removesuffix("/v1")
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
    return server.request(method, root + path, data, _auth(key))


def create(server: Server, **body: Any) -> dict[str, Any]:
    resp = call(server, "POST", "/v1/admin/keys", {"name": "ci", "tenant": "acme", **body})
    assert resp.status == 201, resp.body
    created: dict[str, Any] = resp.json()
    return created


@pytest.fixture
def admin_app(tmp_path: Path) -> Iterator[InProcessServer]:
    fake = FakeBackend()
    backends = dict.fromkeys(FAKE_MODELS, fake)
    with in_process_server(
        tmp_path, models=FAKE_MODELS, backends=backends, admin_key=ADMIN, run_worker=False
    ) as srv:
        yield srv


def test_a_key_is_created_shown_once_and_listed(admin_app: InProcessServer) -> None:
    created = create(admin_app, limits={"rpm": 60, "quota_bytes": 2**40}, weight=2)
    secret = created.pop("key")
    assert secret.startswith("sk-jurist-") and created["id"].startswith("key_")
    assert created["object"] == "api_key" and created["tenant"] == "acme" and created["name"] == "ci"
    assert created["weight"] == 2.0 and created["revoked_at"] is None and created["last_used_at"] is None
    assert created["limits"] == {
        "rpm": 60, "tpm": None, "max_batches": None, "max_queued_lines": None, "quota_bytes": 2**40,
    }  # fmt: skip
    assert call(admin_app, "GET", "/v1/models", key=secret).status == 200  # the key works
    got = call(admin_app, "GET", f"/v1/admin/keys/{created['id']}").json()
    assert "key" not in got and secret not in json.dumps(got)
    assert got["last_used_at"] is not None  # the use above was recorded
    other = create(admin_app, name="b", tenant="globex")
    listing = call(admin_app, "GET", "/v1/admin/keys").json()
    assert listing["object"] == "list" and listing["has_more"] is False
    assert {k["id"] for k in listing["data"]} == {created["id"], other["id"]}  # by created_at, then id
    assert all("key" not in k for k in listing["data"])
    only = call(admin_app, "GET", "/v1/admin/keys?tenant=globex").json()
    assert [k["id"] for k in only["data"]] == [other["id"]] and only["data"][0]["weight"] == 1.0


def test_objects_of_a_database_key_belong_to_its_tenant(admin_app: InProcessServer) -> None:
    one = create(admin_app)["key"]
    two = create(admin_app, name="second")["key"]  # the same tenant: the same objects
    other = create(admin_app, tenant="globex")["key"]
    body = '{"input_file_id": "file-missing", "endpoint": "/v1/chat/completions", "completion_window": "24h"}'
    assert call(admin_app, "POST", "/v1/batches", body, key=one).status == 404
    upload = admin_app.request(
        "POST", f"{ROOT}/v1/files", b"--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
        b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jsonl\"\r\n\r\n{}\n\r\n--b--\r\n",
        {"Authorization": f"Bearer {one}", "Content-Type": "multipart/form-data; boundary=b"},
    )  # fmt: skip
    assert upload.status == 200, upload.body
    file_id = upload.json()["id"]
    assert call(admin_app, "GET", f"/v1/files/{file_id}", key=two).status == 200
    assert call(admin_app, "GET", f"/v1/files/{file_id}", key=other).status == 404


def test_revoking_refuses_the_key_at_once_and_keeps_it_listed(admin_app: InProcessServer) -> None:
    created = create(admin_app)
    assert call(admin_app, "GET", "/v1/models", key=created["key"]).status == 200  # cached as valid
    gone = call(admin_app, "DELETE", f"/v1/admin/keys/{created['id']}")
    assert gone.status == 200 and gone.json() == {"id": created["id"], "object": "api_key", "deleted": True}
    refused = call(admin_app, "GET", "/v1/models", key=created["key"])
    assert refused.status == 401
    error = refused.json()["error"]
    assert error["code"] == "invalid_api_key" and "revoked" in error["message"]
    got = call(admin_app, "GET", f"/v1/admin/keys/{created['id']}").json()
    assert got["revoked_at"] is not None
    assert call(admin_app, "DELETE", f"/v1/admin/keys/{created['id']}").status == 200  # idempotent
    assert call(admin_app, "GET", f"/v1/admin/keys/{created['id']}").json()["revoked_at"] == got["revoked_at"]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_revocation_reaches_another_server_within_a_second(
    tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    if kind == "postgresql":
        url = request.getfixturevalue("postgres_url")
        reset_postgres(url)
    shared = {"database_url": url, "admin_key": ADMIN, "run_worker": False}
    backends = dict.fromkeys(FAKE_MODELS, FakeBackend())
    with (
        live_server(tmp_path / "a", models=FAKE_MODELS, backends=backends, **shared) as a,
        live_server(tmp_path / "b", models=FAKE_MODELS, backends=backends, **shared) as b,
    ):
        created = create(a)
        assert call(b, "GET", "/v1/models", key=created["key"]).status == 200  # b caches it as valid
        assert call(b, "DELETE", f"/v1/admin/keys/{created['id']}").status == 200  # revoked through b…
        assert call(b, "GET", "/v1/models", key=created["key"]).status == 401  # …where it stops at once
        created = create(a, name="second")
        assert call(b, "GET", "/v1/models", key=created["key"]).status == 200
        revoked_at = time.monotonic()
        assert call(a, "DELETE", f"/v1/admin/keys/{created['id']}").status == 200
        while call(b, "GET", "/v1/models", key=created["key"]).status == 200:
            assert time.monotonic() - revoked_at < 1.5, "b still accepts the key revoked on a"
            time.sleep(0.05)
        refused = call(b, "GET", "/v1/models", key=created["key"])
        assert refused.status == 401 and "revoked" in refused.json()["error"]["message"]


def test_only_the_admin_key_may_call_admin_routes(admin_app: InProcessServer) -> None:
    tenant_key = create(admin_app)["key"]
    for key in (tenant_key, API_KEY, "sk-nonsense"):
        for method, path in (
            ("GET", "/v1/admin/keys"), ("POST", "/v1/admin/keys"), ("GET", "/v1/admin/tenants"),
            ("POST", "/v1/admin/tenants/acme"), ("DELETE", "/v1/admin/keys/key_x"),
        ):  # fmt: skip
            resp = call(admin_app, method, path, {"name": "x", "tenant": "evil"}, key=key)
            assert resp.status == 401, (key, path)
            assert resp.json()["error"]["code"] == "invalid_api_key"
    assert [k["tenant"] for k in call(admin_app, "GET", "/v1/admin/keys").json()["data"]] == ["acme"]


def test_the_admin_key_is_not_a_tenant(admin_app: InProcessServer) -> None:
    for method, path in (("GET", "/v1/models"), ("GET", "/v1/files"), ("GET", "/v1/batches")):
        resp = call(admin_app, method, path)
        assert resp.status == 403, path
        error = resp.json()["error"]
        assert error["code"] == "insufficient_permissions" and "admin key" in error["message"]
    chat = {"model": "pai-judge", "messages": [{"role": "user", "content": "hi"}]}
    assert call(admin_app, "POST", "/v1/chat/completions", chat).status == 403


def test_without_an_admin_key_the_admin_routes_say_so(tmp_path: Path) -> None:
    with in_process_server(
        tmp_path, models=FAKE_MODELS, backends=dict.fromkeys(FAKE_MODELS, FakeBackend())
    ) as srv:
        resp = call(srv, "GET", "/v1/admin/keys", key=API_KEY)
        assert resp.status == 401 and "JURIST_ADMIN_KEY" in resp.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"tenant": "acme"}, "name"),
        ({"name": "ci"}, "tenant"),
        ({"name": "", "tenant": "acme"}, "name"),
        ({"name": 5, "tenant": "acme"}, "name"),
        ({"name": "ci", "tenant": "a/b"}, "tenant"),
        ({"name": "ci", "tenant": "-lead"}, "tenant"),
        ({"name": "ci", "tenant": "x" * 65}, "tenant"),
        ({"name": "ci", "tenant": "key_0123"}, "tenant"),
        ({"name": "ci", "tenant": "acme", "limits": {"rpm": 0}}, "limits.rpm"),
        ({"name": "ci", "tenant": "acme", "limits": {"tpm": -5}}, "limits.tpm"),
        ({"name": "ci", "tenant": "acme", "limits": {"rpm": "60"}}, "limits.rpm"),
        ({"name": "ci", "tenant": "acme", "limits": {"rpm": True}}, "limits.rpm"),
        ({"name": "ci", "tenant": "acme", "limits": {"rpm": 1.5}}, "limits.rpm"),
        ({"name": "ci", "tenant": "acme", "limits": {"max_batches": 0}}, "limits.max_batches"),
        ({"name": "ci", "tenant": "acme", "limits": {"max_queued_lines": -1}}, "limits.max_queued_lines"),
        ({"name": "ci", "tenant": "acme", "limits": {"quota_bytes": 0}}, "limits.quota_bytes"),
        ({"name": "ci", "tenant": "acme", "limits": {"rpm": 2**31}}, "limits.rpm"),
        ({"name": "ci", "tenant": "acme", "limits": {"rps": 5}}, "limits.rps"),
        ({"name": "ci", "tenant": "acme", "limits": [1]}, "limits"),
        ({"name": "ci", "tenant": "acme", "weight": 0}, "weight"),
        ({"name": "ci", "tenant": "acme", "weight": -1.5}, "weight"),
        ({"name": "ci", "tenant": "acme", "weight": "2"}, "weight"),
        ({"name": "ci", "tenant": "acme", "secret": "mine"}, "secret"),
    ],
)
def test_bad_key_requests_name_the_field(
    admin_app: InProcessServer, body: dict[str, Any], param: str
) -> None:
    resp = call(admin_app, "POST", "/v1/admin/keys", body)
    assert resp.status == 400, resp.body
    error = resp.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error", error


def test_a_body_that_is_not_an_object_is_refused(admin_app: InProcessServer) -> None:
    assert call(admin_app, "POST", "/v1/admin/keys", "[1]").status == 400
    assert call(admin_app, "POST", "/v1/admin/keys", "{not json").json()["error"]["code"] == "invalid_json"
    assert call(admin_app, "GET", "/v1/admin/keys").json()["data"] == []


def test_tenants_are_listed_read_and_changed(admin_app: InProcessServer) -> None:
    create(admin_app, limits={"rpm": 60, "tpm": 1000})
    create(admin_app, tenant="globex", weight=3)
    create(admin_app, name="again", limits={"max_batches": 2})  # an existing tenant: limits given change
    listing = call(admin_app, "GET", "/v1/admin/tenants").json()
    assert listing["object"] == "list" and [t["id"] for t in listing["data"]] == ["acme", "globex"]
    acme = call(admin_app, "GET", "/v1/admin/tenants/acme").json()
    assert acme["object"] == "tenant" and acme["weight"] == 1.0
    assert acme["limits"] == {
        "rpm": 60,
        "tpm": 1000,
        "max_batches": 2,
        "max_queued_lines": None,
        "quota_bytes": None,
    }
    changed = call(
        admin_app, "POST", "/v1/admin/tenants/acme", {"limits": {"rpm": 120, "tpm": None}, "weight": 0.5}
    )
    assert changed.status == 200, changed.body
    assert changed.json()["weight"] == 0.5
    assert changed.json()["limits"] == {
        "rpm": 120,
        "tpm": None,
        "max_batches": 2,
        "max_queued_lines": None,
        "quota_bytes": None,
    }
    assert call(admin_app, "GET", "/v1/admin/tenants/acme").json() == changed.json()
    keys = call(admin_app, "GET", "/v1/admin/keys?tenant=acme").json()["data"]
    assert {k["weight"] for k in keys} == {0.5} and {k["limits"]["rpm"] for k in keys} == {120}


@pytest.mark.parametrize(
    ("method", "path", "body", "param"),
    [
        ("GET", "/v1/admin/tenants/nobody", None, "tenant"),
        ("POST", "/v1/admin/tenants/nobody", {"weight": 2}, "tenant"),
        ("GET", "/v1/admin/keys?tenant=nobody", None, "tenant"),
        ("GET", "/v1/admin/keys/key_0000000000000000", None, "id"),
        ("DELETE", "/v1/admin/keys/key_0000000000000000", None, "id"),
    ],
)
def test_unknown_tenants_and_keys_are_404(
    admin_app: InProcessServer, method: str, path: str, body: Any, param: str
) -> None:
    resp = call(admin_app, method, path, body)
    assert resp.status == 404 and resp.json()["error"]["param"] == param


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"weight": 0}, "weight"),
        ({"limits": {"rpm": 0}}, "limits.rpm"),
        ({"limits": {"tpm": -1}}, "limits.tpm"),
        ({"name": "x"}, "name"),
    ],
)
def test_bad_tenant_changes_name_the_field(
    admin_app: InProcessServer, body: dict[str, Any], param: str
) -> None:
    create(admin_app)
    resp = call(admin_app, "POST", "/v1/admin/tenants/acme", body)
    assert resp.status == 400 and resp.json()["error"]["param"] == param
