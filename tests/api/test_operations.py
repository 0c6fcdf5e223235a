"""/healthz, /readyz and /metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.batches import SEED_INPUT, create_batch_raw, upload_raw, wait_for_raw
from tests.support.http import request
from tests.support.inprocess import InProcessServer
from tests.support.live import StubUpstream, live_server
from tests.support.services import API_KEY, METRICS_AUTH
from tests.support.verdicts import single_verdict_json


def test_metrics_count_requests_lines_and_upstream_errors(app: InProcessServer, fake: Any) -> None:
    from jurist.errors import BackendTimeout

    fake.default = single_verdict_json(3)
    batch_id = create_batch_raw(app, upload_raw(app, SEED_INPUT))
    wait_for_raw(app, batch_id, {"completed"})
    fake.enqueue(BackendTimeout("slow"))
    app.request("POST", app.base_url + "/chat/completions",
                '{"model": "pai-judge", "messages": [{"role": "user", "content": "x"}]}',
                {"Authorization": f"Bearer {API_KEY}"})  # fmt: skip
    root = app.base_url.removesuffix("/v1")
    text = app.request("GET", root + "/metrics", headers=METRICS_AUTH).body.decode()
    assert 'jurist_http_requests_total{method="POST",route="create_batch",status="200"} 1.0' in text
    assert 'jurist_batch_lines_total{model="pai-judge",status="completed"} 1.0' in text
    assert 'jurist_upstream_errors_total{code="upstream_timeout"} 1.0' in text
    assert 'jurist_chat_requests_total{kind="custom",model="pai-judge"} 1.0' in text
    assert "jurist_http_request_seconds_bucket" in text


def test_health_and_readiness(server: Any, tmp_path: Path) -> None:
    root = server.base_url.removesuffix("/v1")
    assert request("GET", root + "/healthz").json() == {"status": "ok"}
    ready = request("GET", root + "/readyz")
    assert ready.status == 200 and ready.json()["checks"]["database"] == "ok"
    with StubUpstream() as stub:
        models = {"pai-judge": {"backend": "openai", "base_url": stub.base_url},
                  "down": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1"}}  # fmt: skip
        with live_server(tmp_path / "two", models=models) as srv:
            body = request("GET", srv.base_url.removesuffix("/v1") + "/readyz")
            assert body.status == 503
            assert body.json()["checks"] == {
                "database": "ok",
                "model:pai-judge": "ok",
                "model:down": "not ready",
            }
