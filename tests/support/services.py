"""The services under test, wired by ``jurist.composition.build_services`` from test settings: the same
for a live server and for the in-process app."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jurist.backends.base import Backend
from jurist.composition import Services, build_services
from jurist.ids import Clock
from jurist.settings import Settings

API_KEY = "sk-test-key-0123456789"
# /metrics answers only this Bearer token (or the admin key): the test services configure it
METRICS_TOKEN = "test-metrics-token-0123456789"
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}

# Both PAI model names, pointing at an upstream that never answers: tests give them scripted backends.
FAKE_MODELS = {
    "pai-judge": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1"},
    "pai-judge-plus": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1"},
}


def services_for(
    tmp_path: Path,
    models: dict[str, Any] | None = None,
    backends: Mapping[str, Backend] | None = None,
    clock: Clock | None = None,
    **settings: Any,
) -> Services:
    """Services on a fresh data dir (SQLite in ``tmp_path / "data"``) that accept ``API_KEY``, and
    ``METRICS_TOKEN`` on /metrics."""
    options: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "api_keys": [API_KEY],
        "metrics_token": METRICS_TOKEN,
    }
    if models is not None:
        options["models"] = models
    options.update(settings)
    return build_services(Settings(**options), backends=backends, clock=clock)
