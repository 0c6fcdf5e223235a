"""Reading usage back: a checked query (days, grouping, tenant) and the ``/v1/usage`` answer.

Days are UTC dates, ``YYYY-MM-DD``, both ends included; by default the last 30 days up to today.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jurist.errors import InvalidRequest
from jurist.store.usage import GROUPS, GroupBy, UsageCounts, UsageRow, UsageStore, merged

DEFAULT_DAYS = 30
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class UsageQuery:
    start: str
    end: str
    group_by: tuple[GroupBy, ...]
    tenant: str | None = None  # an account and its sub-tenants, or one sub-tenant; None: every tenant


def parse_day(value: str, param: str) -> dt.date:
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(
            f"Invalid '{param}': expected a date as YYYY-MM-DD, got {value[:40]!r}.", param=param
        ) from None


def usage_query(
    today: dt.date,
    start: str | None,
    end: str | None,
    group_by: str | None,
    groups: Sequence[GroupBy],
    default_group: GroupBy,
    tenant: str | None = None,
) -> UsageQuery:
    """The query a caller asked for, checked (each bad parameter is a 400 naming it). ``group_by`` is
    one of ``groups`` or several, comma-separated."""
    last = parse_day(end, "end") if end else today
    first = parse_day(start, "start") if start else last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidRequest(
            f"Invalid 'start': {first.isoformat()} is after 'end' ({last.isoformat()}).", param="start"
        )
    names = [g.strip() for g in (group_by or default_group).split(",") if g.strip()]
    if not names or any(name not in groups for name in names):
        raise InvalidRequest(
            f"Invalid 'group_by': expected {' or '.join(groups)} (or several, comma-separated), "
            f"got {(group_by or '')[:40]!r}.",
            param="group_by",
        )
    chosen = tuple(g for g in GROUPS if g in names)
    return UsageQuery(first.isoformat(), last.isoformat(), chosen, tenant)


async def read_usage(store: UsageStore, query: UsageQuery) -> list[UsageRow]:
    return await store.query(query.start, query.end, query.group_by, query.tenant)


def counts_json(counts: UsageCounts) -> dict[str, Any]:
    return {
        "requests": counts.requests,
        "judge_calls": counts.judge_calls,
        "prompt_tokens": counts.prompt_tokens,
        "completion_tokens": counts.completion_tokens,
        "total_tokens": counts.total_tokens,
        "cache_hits": counts.cache_hits,
        "batch_lines": counts.batch_lines,
        "cost": round(counts.cost, 10),
    }


def usage_json(query: UsageQuery, rows: Sequence[UsageRow]) -> dict[str, Any]:
    """``{object: "list", data: [{<grouped keys>, <counts>}], totals: {<counts>}, start, end}``."""
    data = []
    for row in rows:
        keys: dict[str, Any] = {g: getattr(row, g) for g in query.group_by}
        data.append({**keys, **counts_json(row.counts)})
    return {
        "object": "list",
        "data": data,
        "totals": counts_json(merged(rows)),
        "start": query.start,
        "end": query.end,
    }
