from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI

from jurist.backends.fake import FakeBackend
from tests.support.inprocess import InProcessServer, in_process_server
from tests.support.live import LiveServer, live_server
from tests.support.services import API_KEY, FAKE_MODELS


@pytest.fixture
def fake() -> FakeBackend:
    """The scripted backend behind every judge model of ``server`` and ``app``."""
    return FakeBackend()


@pytest.fixture
def judge_models() -> dict[str, Any]:
    """The judge models ``server`` and ``app`` configure (a module overrides this to change them)."""
    return FAKE_MODELS


@pytest.fixture
def server(tmp_path: Path, fake: FakeBackend, judge_models: dict[str, Any]) -> Iterator[LiveServer]:
    """A live server whose judge models are the scripted backend."""
    with live_server(tmp_path, models=judge_models, backends=dict.fromkeys(judge_models, fake)) as srv:
        yield srv


@pytest.fixture
def app(tmp_path: Path, fake: FakeBackend, judge_models: dict[str, Any]) -> Iterator[InProcessServer]:
    """The same app as ``server``, in process (no socket), for tests of our own HTTP behaviour."""
    with in_process_server(tmp_path, models=judge_models, backends=dict.fromkeys(judge_models, fake)) as srv:
        yield srv


@pytest.fixture
def client(server: LiveServer) -> OpenAI:
    """Configured exactly as the seed does: the whole header string as the api_key."""
    return server.sdk(f"Authorization: Bearer {API_KEY}")
