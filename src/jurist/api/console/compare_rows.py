"""The comparison page's changed rows (the answer's ``diffs``: rows whose status changed, regressions
first), a page at a time, filtered to the regressed or the improved ones; each shown with its item, both
runs' outputs and each criterion's verdict in both runs, and linked to its row on each run's page (the
run page's item view, a page starting at that row: ``after`` the row before it, as ``eval_items`` pages).

The answer names a row by its index in each run; the run page pages by output item id. So the runs'
items are read in row order (``EvalService.list_items``, ``CHUNK`` at a time) up to the last row this
page shows: at most a run's rows (``MAX_ROWS``), and only for the rows on the page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from jurist.api.console.evals_view import BADGES, VERDICTS, CriterionView, ItemRow, item_row
from jurist.errors import InvalidRequest
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.service.evals.service import EvalService
from jurist.store.eval_records import OutputItemRecord

SHOWS = (("all", "All changed rows"), ("regressed", "Regressed"), ("improved", "Improved"))
PAGE_SIZE = 25  # changed rows a page shows
CHUNK = 500  # output items read from the store at a time
EVERY_DIFF = 1_000_000  # more than any run's rows: every changed row listed
RANK = {"pass": 2, "fail": 1, "error": 0}


def parse_show(raw: str) -> str:
    if raw in ("", "all", "regressed", "improved"):
        return raw or "all"
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    raise InvalidRequest(f"show must be one of all, regressed, improved; got {shown!r}.", param="show")


def diffs_wanted(show: str, offset: int) -> int:
    """How many diffs to ask the comparison for: those up to the end of this page (the improved ones
    come after every regression, so all of them)."""
    return EVERY_DIFF if show == "improved" else offset + PAGE_SIZE


@dataclass(frozen=True)
class VerdictPair:
    criterion: str
    base: str  # pass | fail | error
    candidate: str
    base_badge: str
    candidate_badge: str
    base_score: str
    candidate_score: str

    @property
    def changed(self) -> bool:
        return self.base != self.candidate


@dataclass(frozen=True)
class DiffRow:
    key: str
    change: str  # regressed | improved
    base_index: int
    candidate_index: int
    base: str  # the row's status in each run
    candidate: str
    verdicts: list[VerdictPair]
    base_row: ItemRow | None  # the output items (None: not found, e.g. deleted since)
    candidate_row: ItemRow | None
    base_url: str
    candidate_url: str

    @property
    def badges(self) -> tuple[str, str]:
        return BADGES.get(self.base, "warn"), BADGES.get(self.candidate, "warn")


@dataclass(frozen=True)
class DiffsPage:
    rows: list[DiffRow]
    show: str
    offset: int
    total: int  # changed rows this filter keeps (the comparison's counts)
    next_offset: int | None
    previous_offset: int | None


@dataclass(frozen=True)
class _Found:
    item: OutputItemRecord
    before: str | None  # the id of the item before it (None: it is the run's first)
    position: int  # items before it


def change_of(diff: Mapping[str, JsonValue]) -> str:
    base, candidate = RANK.get(str(diff.get("base")), 0), RANK.get(str(diff.get("candidate")), 0)
    return "improved" if candidate > base else "regressed"


async def _find(
    evals: EvalService, tenant: str, eval_id: str, run_id: str, wanted: set[int]
) -> dict[int, _Found]:
    """The run's items at these row indexes, read in row order up to the last of them."""
    found: dict[int, _Found] = {}
    if not wanted:
        return found
    last, cursor, before, position = max(wanted), None, None, 0
    while True:
        chunk = await evals.list_items(tenant, eval_id, run_id, cursor, CHUNK, "asc", None)
        for item in chunk.items:
            if item.index in wanted:
                found[item.index] = _Found(item, before, position)
            if item.index >= last:
                return found
            before, position = item.id, position + 1
        if not chunk.has_more or not chunk.items:
            return found
        cursor = chunk.items[-1].id


def row_url(eval_id: str, run_id: str, found: _Found | None) -> str:
    """The run page, starting at this row (its first page when the row is the first, or not found)."""
    url = f"/console/evals/{eval_id}/runs/{run_id}"
    if found is None or found.before is None:
        return url
    return url + "?" + urlencode({"after": found.before, "shown": found.position})


def _verdicts(
    diff: Mapping[str, JsonValue], criteria: Sequence[CriterionView], rows: tuple[ItemRow | None, ...]
) -> list[VerdictPair]:
    out = []
    letters = [str(diff.get("base_verdicts") or ""), str(diff.get("candidate_verdicts") or "")]
    for c in criteria:
        said = [VERDICTS.get(v[c.index : c.index + 1], "error") for v in letters]
        scores = [
            r.results[c.index].score
            if r is not None and c.index < len(r.results) and said[k] != "error"
            else ""
            for k, r in enumerate(rows)
        ]
        out.append(VerdictPair(c.name, said[0], said[1], BADGES[said[0]], BADGES[said[1]], *scores))
    return out


async def diffs_page(
    evals: EvalService, tenant: str, eval_id: str, runs: tuple[str, str], found: JSONObject,
    criteria: Sequence[CriterionView], show: str, offset: int,
) -> DiffsPage:  # fmt: skip
    """This page of the comparison's changed rows, with their items from both runs."""
    listed = found.get("diffs")
    diffs = [d for d in (listed if isinstance(listed, list) else []) if isinstance(d, dict)]
    kept = [d for d in diffs if show == "all" or change_of(d) == show]
    items = found.get("items")
    counts = items if isinstance(items, dict) else {}
    up, down = _count(counts, "improved"), _count(counts, "regressed")
    total = {"all": up + down, "improved": up, "regressed": down}[show]
    shown = kept[offset : offset + PAGE_SIZE]
    indexes = [{_index(d, "base_index") for d in shown}, {_index(d, "candidate_index") for d in shown}]
    base = await _find(evals, tenant, eval_id, runs[0], indexes[0])
    candidate = await _find(evals, tenant, eval_id, runs[1], indexes[1])
    rows = []
    for d in shown:
        b, c = base.get(_index(d, "base_index")), candidate.get(_index(d, "candidate_index"))
        pair = tuple(None if f is None else item_row(f.item, criteria) for f in (b, c))
        rows.append(
            DiffRow(
                str(d.get("item_key") or ""),
                change_of(d),
                _index(d, "base_index"),
                _index(d, "candidate_index"),
                str(d.get("base") or ""),
                str(d.get("candidate") or ""),
                _verdicts(d, criteria, pair),
                pair[0],
                pair[1],
                row_url(eval_id, runs[0], b),
                row_url(eval_id, runs[1], c),
            )
        )
    more = offset + PAGE_SIZE < total
    return DiffsPage(rows, show, offset, total, offset + PAGE_SIZE if more else None,
                     max(0, offset - PAGE_SIZE) if offset else None)  # fmt: skip


def _index(diff: Mapping[str, JsonValue], key: str) -> int:
    value = diff.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def _count(counts: Mapping[str, JsonValue], key: str) -> int:
    value = counts.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
