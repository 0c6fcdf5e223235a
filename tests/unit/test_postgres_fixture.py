from __future__ import annotations

import psycopg
import pytest

from tests.support.postgres import running_postgres


def test_running_postgres_serves_a_fresh_database_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JURIST_TEST_DATABASE_URL", raising=False)  # always start a real server here
    with running_postgres() as url:
        assert url.startswith("postgresql://jurist@127.0.0.1:")
        assert url.endswith("/jurist_test")
        with psycopg.connect(url, connect_timeout=10) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
            assert conn.execute("select current_database()").fetchone() == ("jurist_test",)
            conn.execute("create table verdicts (id serial primary key, label text not null)")
            conn.execute("insert into verdicts (label) values (%s), (%s)", ("pass", "fail"))
            rows = conn.execute("select id, label from verdicts order by id").fetchall()
            assert rows == [(1, "pass"), (2, "fail")]
            conn.commit()
        with psycopg.connect(url, connect_timeout=10) as conn:
            assert conn.execute("select count(*) from verdicts").fetchone() == (2,)

    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=3)
