"""/openapi.json covers every route the app serves under /v1, and what Jurist's own endpoints answer
(labels, agreement, report, usage, models, admin) validates against the schemas it publishes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from starlette.applications import Starlette
from starlette.routing import Route

from jurist.api.app import create_app
from jurist.backends.fake import FakeBackend
from tests.support.batches import create_batch_raw, upload_raw, wait_for_raw
from tests.support.battles import Scripted, battle, headers, single
from tests.support.inprocess import InProcessServer, in_process_server
from tests.support.openapi import check, schema_of
from tests.support.services import FAKE_MODELS, services_for

ADMIN = "sk-admin-0123456789"

# Routes under /v1 left out of the document on purpose, with the reason (none today).
NOT_DOCUMENTED: dict[tuple[str, str], str] = {}


def served(app: Starlette) -> set[tuple[str, str]]:
    """(method, path under /v1) of every route the app serves there, as the document spells paths."""
    found = set()
    for route in app.routes:
        if isinstance(route, Route) and route.path.startswith("/v1/"):
            path = route.path.removeprefix("/v1").replace(":path}", "}")
            found |= {(m.lower(), path) for m in route.methods or () if m != "HEAD"}
    return found


def test_every_route_under_v1_is_in_the_document_and_nothing_else(tmp_path: Path) -> None:
    fake = FakeBackend()
    app = create_app(services_for(tmp_path, models=FAKE_MODELS, backends=dict.fromkeys(FAKE_MODELS, fake)))
    doc = json.loads(app.state.openapi)
    documented = {(m, p) for p, methods in doc["paths"].items() for m in methods}
    routes = served(app)
    assert ("get", "/batches/{batch_id}/agreement") in routes  # the route listing works
    assert routes - set(NOT_DOCUMENTED) == documented


def call(app: InProcessServer, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
    auth = {"Authorization": f"Bearer {key}"} if key else headers()
    data = None if body is None else json.dumps(body)
    return app.request(method, app.base_url + path, data, {**auth, "Content-Type": "application/json"})


def test_jurist_answers_validate_against_the_published_schemas(tmp_path: Path) -> None:
    fake = Scripted()
    backends = dict.fromkeys(FAKE_MODELS, fake)
    with in_process_server(tmp_path, models=FAKE_MODELS, backends=backends, admin_key=ADMIN) as app:
        doc = json.loads(app.request("GET", "http://testserver/openapi.json").body)
        lines = [battle("p1", True), single("s1"), single("s2")]
        batch_id = create_batch_raw(app, upload_raw(app, "\n".join(lines) + "\n"))
        wait_for_raw(app, batch_id, {"completed"})
        labels = [
            {"custom_id": "p1", "label": "1", "note": "clear"},
            {"custom_id": "s1", "label": 3, "criteria": {"Accuracy": 3, "Timeliness": None}},
            {"custom_id": "s2", "label": 4, "criteria": {"Accuracy": 2}, "annotator": "ann"},
        ]
        body_schema = doc["paths"]["/batches/{batch_id}/labels"]["post"]["requestBody"]["content"]
        posted = jsonschema.Draft202012Validator(
            {**body_schema["application/json"]["schema"], "components": doc["components"]}
        )
        posted.validate(labels)
        assert not posted.is_valid([{"custom_id": "s1", "label": 3, "criteria": {"Accuracy": "high"}}])
        labels_path = f"/batches/{batch_id}/labels"
        check(doc, "post", "/batches/{batch_id}/labels", call(app, "POST", labels_path, labels))
        listed = call(app, "GET", labels_path)
        check(doc, "get", "/batches/{batch_id}/labels", listed)
        assert not schema_of(doc, "get", "/batches/{batch_id}/labels").is_valid(
            {**listed.json(), "data": [{**listed.json()["data"][0], "label": 2.5}]}
        )
        agreement = call(app, "GET", f"/batches/{batch_id}/agreement?bootstrap=20")
        check(doc, "get", "/batches/{batch_id}/agreement", agreement)
        assert [c["name"] for c in agreement.json()["single"]["criteria"]] == ["Accuracy", "Timeliness"]
        check(
            doc,
            "get",
            "/batches/{batch_id}/report",
            call(app, "GET", f"/batches/{batch_id}/report?bootstrap=20"),
        )
        deleted = call(app, "DELETE", labels_path + "/s2?annotator=ann")
        check(doc, "delete", "/batches/{batch_id}/labels/{custom_id}", deleted)
        check(doc, "get", "/models", call(app, "GET", "/models"))
        check(doc, "get", "/models/{model}", call(app, "GET", "/models/pai-judge"))
        check(doc, "get", "/usage", call(app, "GET", "/usage?group_by=day,model"))
        check(doc, "get", "/admin/usage", call(app, "GET", "/admin/usage?group_by=tenant,day", key=ADMIN))
        created = call(app, "POST", "/admin/keys", {"name": "ci", "tenant": "acme"}, key=ADMIN)
        check(doc, "post", "/admin/keys", created, status=201)
        key_id = created.json()["id"]
        check(doc, "get", "/admin/keys", call(app, "GET", "/admin/keys", key=ADMIN))
        check(doc, "get", "/admin/keys/{key_id}", call(app, "GET", f"/admin/keys/{key_id}", key=ADMIN))
        check(doc, "delete", "/admin/keys/{key_id}", call(app, "DELETE", f"/admin/keys/{key_id}", key=ADMIN))
        check(doc, "get", "/admin/tenants", call(app, "GET", "/admin/tenants", key=ADMIN))
        check(doc, "get", "/admin/tenants/{tenant}", call(app, "GET", "/admin/tenants/acme", key=ADMIN))
        update = call(app, "POST", "/admin/tenants/acme", {"limits": {"rpm": 5}, "weight": 2}, key=ADMIN)
        check(doc, "post", "/admin/tenants/{tenant}", update)
        error = call(app, "GET", "/batches/batch_nope/agreement")
        assert error.status == 404
        jurist = doc["paths"]["/batches/{batch_id}/agreement"]["get"]["responses"]["default"]
        jsonschema.Draft202012Validator(
            {**jurist["content"]["application/json"]["schema"], "components": doc["components"]}
        ).validate(error.json())
