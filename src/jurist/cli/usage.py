"""The ``jurist usage`` command: usage and cost per tenant, day and model, read from the configured
database (the figures ``GET /v1/admin/usage`` answers), printed as a table or JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from jurist.service.tenancy.usage_report import read_usage, usage_json, usage_query
from jurist.settings import Settings
from jurist.store.database import open_database
from jurist.store.migrations import upgrade
from jurist.store.usage import GROUPS, GroupBy, SqlUsageStore

_COLUMNS = (
    ("requests", "requests"),
    ("judge_calls", "calls"),
    ("prompt_tokens", "in"),
    ("completion_tokens", "out"),
    ("cache_hits", "hits"),
    ("batch_lines", "lines"),
    ("cost", "cost"),
)


async def usage_report(
    settings: Settings, tenant: str | None, start: str | None, end: str | None, group_by: str | None
) -> dict[str, Any]:
    """The ``/v1/admin/usage`` answer for these options (bad ones raise ``InvalidRequest``)."""
    today = dt.datetime.now(dt.UTC).date()
    default: GroupBy = "tenant" if tenant is None else "model"
    query = usage_query(today, start, end, group_by, GROUPS, default, tenant)
    db = open_database(settings.resolved_database_url)
    await db.open()
    try:
        await upgrade(db)
        rows = await read_usage(SqlUsageStore(db), query)
    finally:
        await db.close()
    return usage_json(query, rows)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def print_usage(report: dict[str, Any], console: Console) -> None:
    keys = [g for g in GROUPS if any(g in row for row in report["data"])]
    table = Table(
        title=f"Usage {report['start']} to {report['end']} (UTC)",
        caption="calls: judge-model calls; in/out: prompt/completion tokens; hits: judge-cache hits; "
        "lines: batch lines",
        show_footer=True,
    )
    totals = report["totals"]
    for i, key in enumerate(keys):
        widest = max(len(str(row[key])) for row in report["data"])
        table.add_column(key, footer="total" if i == 0 else "", no_wrap=True, min_width=widest)
    for name, title in _COLUMNS:
        widest = max(len(_cell(row[name])) for row in [*report["data"], totals])
        table.add_column(title, justify="right", footer=_cell(totals[name]), min_width=widest)
    for row in report["data"]:
        table.add_row(*(str(row[k]) for k in keys), *(_cell(row[name]) for name, _ in _COLUMNS))
    if not console.is_terminal:  # piped: as wide as the table needs, never truncated
        needed = Measurement.get(console, console.options.update_width(1000), table).maximum
        console.width = max(console.width, needed)
    console.print(table)
    if not report["data"]:
        console.print("No usage recorded in this period.")
