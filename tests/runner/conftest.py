from __future__ import annotations

from typing import Any

import pytest

from tests.support.postgres import reset_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def database_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings for services on SQLite (in the data dir) or on an empty PostgreSQL database (files
    then live in the database)."""
    if request.param == "sqlite":
        return {}
    url = request.getfixturevalue("postgres_url")
    reset_postgres(url)
    return {"database_url": url}
