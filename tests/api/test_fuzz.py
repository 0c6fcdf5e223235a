"""Property-based fuzzing (schemathesis) over /openapi.json: whatever it sends, never a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from jurist.backends.fake import FakeBackend
from tests.support.live import live_server
from tests.support.services import API_KEY, FAKE_MODELS
from tests.support.verdicts import single_verdict_json


def fuzz_operation(operation: Any, base_url: str, calls: dict[str, int]) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy())
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30)
        calls[label] = calls.get(label, 0) + 1
        assert response.status_code < 500, f"{label} -> {response.status_code}: {response.text[:500]}"
        if response.status_code >= 400:
            assert set(response.json()["error"]) == {"message", "type", "param", "code"}

    check()


def test_no_generated_input_makes_a_server_error(tmp_path: Path) -> None:
    fake = FakeBackend(default=single_verdict_json(3))
    with live_server(
        tmp_path, models=FAKE_MODELS, backends={"pai-judge": fake, "pai-judge-plus": fake}
    ) as srv:
        schema = schemathesis.openapi.from_url(srv.base_url.removesuffix("/v1") + "/openapi.json")
        calls: dict[str, int] = {}
        for result in schema.get_all_operations():
            fuzz_operation(result.ok(), srv.base_url, calls)
    assert len(calls) >= 26 and sum(calls.values()) >= 300, calls
