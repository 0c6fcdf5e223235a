from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from jurist.backends.fake import FakeBackend
from tests.support.live import API_KEY, LiveServer, live_server

FAKE_MODELS = {
    "pai-judge": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1"},
    "pai-judge-plus": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1"},
}


@pytest.fixture
def fake() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def server(tmp_path: Path, fake: FakeBackend) -> Iterator[LiveServer]:
    """A live server whose judge models are the scripted backend."""
    with live_server(
        tmp_path, models=FAKE_MODELS, backends={"pai-judge": fake, "pai-judge-plus": fake}
    ) as srv:
        yield srv


@pytest.fixture
def client(server: LiveServer) -> OpenAI:
    """Configured exactly as the seed does: the whole header string as the api_key."""
    return OpenAI(api_key=f"Authorization: Bearer {API_KEY}", base_url=server.base_url, max_retries=0)
