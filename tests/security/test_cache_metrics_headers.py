"""Three leaks closed: the judge cache is scoped per tenant (unless a deployment shares it on purpose,
``cache_scope = "global"``), ``/metrics`` (every tenant's requests, tokens and cost) needs the admin key
or the metrics token as a Bearer token, and every response carries ``X-Content-Type-Options: nosniff``."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from jurist.api.app import create_app
from jurist.backends.fake import FakeBackend
from tests.support.http import RawResponse, multipart
from tests.support.inprocess import InProcessServer, in_process_server
from tests.support.services import API_KEY, FAKE_MODELS, services_for
from tests.support.verdicts import single_verdict_json

OTHER_KEY = "sk-test-other-key-9876543210"
ADMIN = "sk-admin-key-0123456789abcdef"
METRICS_TOKEN = "prom-scrape-token-0123456789"
ENVELOPE = {"message", "type", "param", "code"}


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def item_body(model: str = "pai-judge", answer: str = "4") -> dict[str, Any]:
    content = [{"mode": "single", "type": "json", "json": {"question": "2+2?", "answer": answer}}]
    return {"model": model, "messages": [{"role": "user", "content": content}]}


def ask(app: InProcessServer, key: str, model: str = "pai-judge", **headers: str) -> RawResponse:
    body = json.dumps(item_body(model))
    resp = app.request("POST", app.base_url + "/chat/completions", body, auth(key, **headers))
    assert resp.status == 200, resp.body
    return resp


@pytest.fixture
def fake() -> FakeBackend:
    return FakeBackend(default=single_verdict_json(4))


def two_tenants(tmp_path: Path, fake: FakeBackend, **settings: Any) -> InProcessServer:
    backends = dict.fromkeys(FAKE_MODELS, fake)
    return in_process_server(
        tmp_path, models=FAKE_MODELS, backends=backends, api_keys=[API_KEY, OTHER_KEY], **settings
    )


# --- 2. the judge cache is per tenant -------------------------------------------------------------


def test_the_two_keys_are_two_tenants(tmp_path: Path, fake: FakeBackend) -> None:
    with two_tenants(tmp_path, fake) as app:
        ask(app, API_KEY)
        ask(app, OTHER_KEY)
        usage = app.request("GET", app.base_url + "/usage", headers=auth(OTHER_KEY)).json()
        assert usage["totals"]["requests"] == 1  # the other key's own request only


def test_another_tenant_never_hits_what_a_tenant_judged(tmp_path: Path, fake: FakeBackend) -> None:
    with two_tenants(tmp_path, fake) as app:
        assert ask(app, API_KEY).headers["x-jurist-cache"] == "miss"
        assert ask(app, API_KEY).headers["x-jurist-cache"] == "hit"  # the same tenant still hits
        assert len(fake.history) == 1
        assert ask(app, OTHER_KEY).headers["x-jurist-cache"] == "miss"
        assert len(fake.history) == 2  # judged again, for the other tenant
        assert ask(app, OTHER_KEY).headers["x-jurist-cache"] == "hit"
        # a sub-tenant (X-On-Behalf-Of) is a tenant of its own, and so is each of them
        assert ask(app, API_KEY, **{"X-On-Behalf-Of": "team-a"}).headers["x-jurist-cache"] == "miss"
        assert ask(app, API_KEY, **{"X-On-Behalf-Of": "team-b"}).headers["x-jurist-cache"] == "miss"
        assert ask(app, API_KEY, **{"X-On-Behalf-Of": "team-a"}).headers["x-jurist-cache"] == "hit"
        assert len(fake.history) == 4


def test_a_cascade_stage_is_cached_per_tenant(tmp_path: Path, fake: FakeBackend) -> None:
    with two_tenants(tmp_path, fake) as app:
        assert ask(app, API_KEY, "pai-judge-auto").headers["x-jurist-cache"] == "miss"
        calls = len(fake.history)
        assert ask(app, API_KEY, "pai-judge-auto").headers["x-jurist-cache"] == "hit"
        assert len(fake.history) == calls
        assert ask(app, OTHER_KEY, "pai-judge-auto").headers["x-jurist-cache"] == "miss"
        assert len(fake.history) == 2 * calls


def upload_as(app: InProcessServer, key: str, text: str) -> str:
    body, content_type = multipart({"purpose": "batch"}, ("input.jsonl", text.encode()))
    resp = app.request("POST", app.base_url + "/files", body, auth(key, **{"Content-Type": content_type}))
    assert resp.status == 200, resp.body
    file_id: str = resp.json()["id"]
    return file_id


def batch_as(app: InProcessServer, key: str, text: str) -> dict[str, Any]:
    """A batch of ``text`` created by ``key``'s tenant, once it has finished."""
    spec = {"input_file_id": upload_as(app, key, text), "endpoint": "/v1/chat/completions",
            "completion_window": "24h"}  # fmt: skip
    resp = app.request("POST", app.base_url + "/batches", json.dumps(spec), auth(key))
    assert resp.status == 200, resp.body
    url = f"{app.base_url}/batches/{resp.json()['id']}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        batch: dict[str, Any] = app.request("GET", url, headers=auth(key)).json()
        if batch["status"] in ("completed", "failed"):
            return batch
        time.sleep(0.05)
    raise AssertionError(f"batch stuck: {batch}")


def test_a_batch_line_is_not_answered_from_another_tenants_cache(tmp_path: Path, fake: FakeBackend) -> None:
    line = json.dumps({"custom_id": "r1", "body": item_body()}) + "\n"
    with two_tenants(tmp_path, fake) as app:
        assert ask(app, API_KEY).headers["x-jurist-cache"] == "miss"
        done = batch_as(app, OTHER_KEY, line)
        assert done["status"] == "completed"
        assert len(fake.history) == 2  # the other tenant's line was judged, not served from the cache
        usage = app.request("GET", app.base_url + "/usage", headers=auth(OTHER_KEY)).json()
        assert usage["totals"]["cache_hits"] == 0
        batch_as(app, API_KEY, line)  # the tenant that judged it gets it from its own cache
        assert len(fake.history) == 2


def test_a_global_cache_is_shared_when_the_deployment_chooses_it(tmp_path: Path, fake: FakeBackend) -> None:
    with two_tenants(tmp_path, fake, cache_scope="global") as app:
        assert ask(app, API_KEY).headers["x-jurist-cache"] == "miss"
        assert ask(app, OTHER_KEY).headers["x-jurist-cache"] == "hit"
        assert ask(app, API_KEY, **{"X-On-Behalf-Of": "team-a"}).headers["x-jurist-cache"] == "hit"
        assert len(fake.history) == 1


def test_the_cache_scope_setting_is_validated() -> None:
    from jurist.errors import ConfigError
    from jurist.settings import load_settings

    assert load_settings().cache_scope == "tenant"
    with pytest.raises(ConfigError):
        load_settings(cache_scope="everyone")


# --- 4. /metrics needs the admin key or the metrics token ------------------------------------------


@pytest.fixture
def guarded(tmp_path: Path, fake: FakeBackend) -> Iterator[InProcessServer]:
    with two_tenants(tmp_path, fake, admin_key=ADMIN, metrics_token=METRICS_TOKEN) as app:
        yield app


def metrics(app: InProcessServer, headers: dict[str, str] | None = None) -> RawResponse:
    return app.request("GET", app.base_url.removesuffix("/v1") + "/metrics", headers=headers)


def refused(resp: RawResponse, status: int = 401) -> None:
    assert resp.status == status, resp.body
    error = resp.json()["error"]
    assert set(error) == ENVELOPE and error["code"] == "invalid_api_key"
    assert b"jurist_" not in resp.body


def test_metrics_are_refused_without_the_token(guarded: InProcessServer) -> None:
    ask(guarded, API_KEY, **{"X-On-Behalf-Of": "acme-secret-project"})
    refused(metrics(guarded))
    refused(metrics(guarded, auth("wrong-token")))
    refused(metrics(guarded, {"Authorization": METRICS_TOKEN}))  # not a Bearer token
    refused(metrics(guarded, auth(API_KEY)))  # a tenant's key is not looked up: 401, as on /v1/admin
    refused(metrics(guarded, auth(OTHER_KEY, **{"X-On-Behalf-Of": "x"})))


def test_the_metrics_token_and_the_admin_key_read_the_metrics(guarded: InProcessServer) -> None:
    ask(guarded, API_KEY, **{"X-On-Behalf-Of": "acme-secret-project"})
    for key in (METRICS_TOKEN, ADMIN):
        resp = metrics(guarded, auth(key))
        assert resp.status == 200, resp.body
        assert resp.headers["content-type"].startswith("text/plain")
        text = resp.body.decode()
        assert "jurist_http_requests_total" in text and "jurist_tenant_requests_total{" in text


def test_the_admin_key_alone_reads_the_metrics(tmp_path: Path, fake: FakeBackend) -> None:
    with two_tenants(tmp_path, fake, admin_key=ADMIN, metrics_token=None) as app:
        assert metrics(app, auth(ADMIN)).status == 200
        refused(metrics(app, auth(METRICS_TOKEN)))
        refused(metrics(app))


def test_without_an_admin_key_or_metrics_token_metrics_are_closed(tmp_path: Path, fake: FakeBackend) -> None:
    with two_tenants(tmp_path, fake, metrics_token=None) as app:
        resp = metrics(app)
        refused(resp)
        assert "JURIST_METRICS_TOKEN" in resp.json()["error"]["message"]
        refused(metrics(app, auth(API_KEY)))
        refused(metrics(app, auth("")))


def test_health_and_readiness_stay_open(guarded: InProcessServer) -> None:
    root = guarded.base_url.removesuffix("/v1")
    assert guarded.request("GET", root + "/healthz").status == 200
    assert guarded.request("GET", root + "/readyz").status == 200


def test_the_metrics_token_is_masked_in_the_shown_configuration() -> None:
    from jurist.settings import load_settings

    shown = json.dumps(load_settings(metrics_token=METRICS_TOKEN).masked({}))
    assert METRICS_TOKEN not in shown


# --- 15. every response says nosniff -------------------------------------------------------------


@pytest.fixture
def console(tmp_path: Path, fake: FakeBackend) -> Iterator[TestClient]:
    services = services_for(tmp_path, models=FAKE_MODELS, backends=dict.fromkeys(FAKE_MODELS, fake))
    with TestClient(create_app(services), follow_redirects=False) as client:
        yield client


def nosniff(headers: Any) -> bool:
    values = [v for k, v in headers.items() if k.lower() == "x-content-type-options"]
    return values == ["nosniff"]


def sign_in(client: TestClient) -> None:
    form = client.get("/console/sign-in")
    assert nosniff(form.headers)
    found = re.search(r'name="form_token" value="([^"]+)"', form.text)
    assert found is not None, form.text
    done = client.post("/console/sign-in", data={"api_key": API_KEY, "form_token": found.group(1)})
    assert done.status_code == 303 and "jurist_session" in client.cookies, done.text


def test_every_response_says_nosniff(console: TestClient) -> None:
    static = console.get("/console/static/console.css")
    assert static.status_code == 200 and nosniff(static.headers)
    script = console.get("/console/static/console.js")
    assert script.status_code == 200 and nosniff(script.headers)
    missing_static = console.get("/console/static/nothing.css")
    assert missing_static.status_code == 404 and nosniff(missing_static.headers)
    sign_in(console)
    progress = console.get("/console/batches/progress", params={"id": "batch_nothing"})
    assert progress.status_code == 200 and progress.json() == {"batches": []}
    assert nosniff(progress.headers)
    models = console.get("/v1/models", headers=auth(API_KEY))
    assert models.status_code == 200 and nosniff(models.headers)
    chat = console.post("/v1/chat/completions", json=item_body(), headers=auth(API_KEY))
    assert chat.status_code == 200 and nosniff(chat.headers)
    for error in (
        console.get("/v1/models"),  # 401
        console.get("/v1/models/no-such-model", headers=auth(API_KEY)),  # 404
        console.get("/v1/nothing-here"),  # unmatched route
        console.post("/v1/chat/completions", content=b"{", headers=auth(API_KEY)),  # 400
    ):
        assert error.status_code >= 400 and set(error.json()["error"]) == ENVELOPE
        assert nosniff(error.headers), (error.status_code, error.headers)
    for open_path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert nosniff(console.get(open_path).headers), open_path
    page = console.get("/console/batches")  # a page that already set it: said once, not twice
    assert page.status_code == 200 and nosniff(page.headers)


def test_a_streamed_response_says_nosniff(console: TestClient) -> None:
    with console.stream(
        "POST", "/v1/chat/completions", json={**item_body(), "stream": True}, headers=auth(API_KEY)
    ) as resp:
        assert resp.status_code == 200 and nosniff(resp.headers)
        resp.read()
