from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live import StubUpstream
from tests.support.postgres import running_postgres


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One real PostgreSQL server for the whole run (initdb/pg_ctl in a temp dir)."""
    with running_postgres() as url:
        yield url


@pytest.fixture
def stub() -> Iterator[StubUpstream]:
    with StubUpstream() as upstream:
        yield upstream


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's own JURIST_* environment."""
    import os

    for name in list(os.environ):
        if name.startswith("JURIST_"):
            monkeypatch.delenv(name)
