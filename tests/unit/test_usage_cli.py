"""``jurist usage``: the usage table read from the configured database, as a subprocess."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from jurist.store.database import SqliteDatabase
from jurist.store.migrations import upgrade
from jurist.store.usage import SqlUsageStore, UsageCounts, UsageRow


async def _fill(path: Path, today: str) -> None:
    db = SqliteDatabase(path)
    await db.open()
    try:
        await upgrade(db)
        await SqlUsageStore(db).add(
            [
                UsageRow(UsageCounts(3, 4, 1200, 300, 1, 0, 0.0048), "acme", today, "pai-judge"),
                UsageRow(UsageCounts(0, 2, 20, 8, 0, 2, 0.0), "acme/team-1", today, "pai-judge-plus"),
                UsageRow(UsageCounts(7, 7, 70, 21, 0, 0, 0.5), "globex", today, "pai-judge"),
                UsageRow(UsageCounts(1, 1, 1, 1, 0, 0, 0.0), "acme", "2000-01-01", "pai-judge"),  # long ago
            ]
        )
    finally:
        await db.close()


def _jurist(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JURIST_")}
    env.update(JURIST_DATA_DIR=str(tmp_path / "data"), JURIST_API_KEYS="k")
    cmd = [sys.executable, "-m", "jurist", "usage", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.split("│")[1:-1]]


def test_jurist_usage_prints_the_table_and_the_json(tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    asyncio.run(_fill(tmp_path / "data" / "jurist.db", today))

    table = _jurist(tmp_path)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    rows = {cells[0]: cells[1:] for cells in (_cells(x) for x in lines) if cells}
    assert rows["acme"] == ["3", "4", "1,200", "300", "1", "0", "0.0048"]  # not the old day's
    assert rows["acme/team-1"][-2:] == ["2", "0.0000"] and rows["globex"][0] == "7"
    assert rows["total"] == ["10", "13", "1,290", "329", "1", "2", "0.5048"]

    scoped = _jurist(tmp_path, "--tenant", "acme", "--group-by", "model", "--json")
    assert scoped.returncode == 0, scoped.stderr
    report = json.loads(scoped.stdout)
    assert [(r["model"], r["requests"], r["batch_lines"]) for r in report["data"]] == [
        ("pai-judge", 3, 0),
        ("pai-judge-plus", 0, 2),
    ]
    assert report["totals"]["total_tokens"] == 1200 + 300 + 20 + 8
    old = json.loads(_jurist(tmp_path, "--start", "1999-12-01", "--end", "2000-01-31", "--json").stdout)
    assert [(r["tenant"], r["requests"]) for r in old["data"]] == [("acme", 1)]

    bad = _jurist(tmp_path, "--start", "2024-02-30")
    assert bad.returncode == 2 and "Invalid 'start'" in bad.stderr
    empty = _jurist(tmp_path, "--tenant", "nobody")
    assert empty.returncode == 0 and "No usage recorded" in empty.stdout
