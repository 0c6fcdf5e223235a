"""The run page's output items, a page at a time in row order, filtered on the server: by status (all /
passed / failed / errored: the store's own filter) and by one criterion's verdict (the rows where
criterion K failed, or errored: read from the item's ``verdicts``, one character per criterion).

The store has no index on one criterion's verdict, so a criterion filter reads the run's items in
chunks and keeps the matching ones, reading at most ``SCAN_LIMIT`` rows for one page: a page that stops
there says so and links on from the last row it read. How many rows match is exact all the same: it is
counted from the run's ``verdicts`` counts (``EvalStore.counts``), never by reading items."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from jurist.api.console.numbers import as_int
from jurist.errors import InvalidRequest
from jurist.service.evals.service import EvalService
from jurist.store.eval_records import OutputItemRecord, RunCounts

PAGE_SIZE = 50  # rows a page shows
SCAN_LIMIT = 2_000  # rows a criterion filter reads for one page at most
CHUNK = 200  # rows read from the store at a time
STATUSES = (("", "All"), ("pass", "Passed"), ("fail", "Failed"), ("error", "Errored"))
_STATUS_PARAMS = {"": "", "all": "", "pass": "pass", "passed": "pass", "fail": "fail", "failed": "fail",
                  "error": "error", "errored": "error"}  # fmt: skip
OUTCOMES = {"failed": "F", "errored": "E"}


def status_of(verdicts: str) -> str:
    """An item's status from its verdicts, as the rows are graded: any error, else any fail, else pass."""
    return "error" if "E" in verdicts else "fail" if "F" in verdicts else "pass"


@dataclass(frozen=True)
class ItemFilters:
    status: str = ""  # "" (all) | pass | fail | error
    criterion: int | None = None  # the criterion's index in the eval's testing_criteria
    outcome: str = ""  # failed | errored (with a criterion)

    @property
    def criterion_param(self) -> str:
        return "" if self.criterion is None else f"{self.criterion}:{self.outcome}"

    def query(self, **extra: str | int) -> str:
        """These filters (and ``extra``) as a query string, the defaults left out."""
        params: dict[str, str | int] = {}
        if self.status:
            params["status"] = self.status
        if self.criterion is not None:
            params["criterion"] = self.criterion_param
        return urlencode({**params, **extra})

    def keeps(self, item: OutputItemRecord) -> bool:
        if self.status and item.status != self.status:
            return False
        return self._verdict_kept(item.verdicts)

    def _verdict_kept(self, verdicts: str) -> bool:
        if self.criterion is None:
            return True
        k = self.criterion
        return (verdicts[k : k + 1] or "E") == OUTCOMES[self.outcome]

    def matching(self, counts: RunCounts) -> int:
        """How many of the run's items these filters keep (from its counts: no item is read)."""
        if self.criterion is None:
            statuses = counts.statuses
            return statuses.get(self.status, 0) if self.status else sum(statuses.values())
        return sum(
            n
            for verdicts, n in counts.verdicts.items()
            if (not self.status or status_of(verdicts) == self.status) and self._verdict_kept(verdicts)
        )


def parse_filters(params: Mapping[str, str], criteria: int) -> ItemFilters:
    """The filters of the page's query (``status``; ``criterion``: ``K:failed`` or ``K:errored``, K the
    criterion's 0-based index); a 400 page for one that is not."""
    raw = params.get("status", "")
    if raw not in _STATUS_PARAMS:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise InvalidRequest(
            f"status must be one of all, passed, failed, errored; got {shown!r}.", param="status"
        )
    status = _STATUS_PARAMS[raw]
    chosen = params.get("criterion", "")
    if not chosen:
        return ItemFilters(status)
    index, _, outcome = chosen.partition(":")
    k = as_int(index)
    if k is None or k >= criteria or outcome not in OUTCOMES:
        shown = chosen if len(chosen) <= 40 else chosen[:40] + "…"
        raise InvalidRequest(
            f"criterion must be K:failed or K:errored for a criterion K of 0 to {criteria - 1}; got "
            f"{shown!r}.",
            param="criterion",
        )
    return ItemFilters(status, k, outcome)


@dataclass(frozen=True)
class ItemsPage:
    items: list[OutputItemRecord]
    next_after: str | None  # the next page starts after this item (None: this is the last page)
    scanned: int  # rows read to find them (a criterion filter)
    stopped: bool  # the reading stopped at SCAN_LIMIT, short of a full page and of the run's end


async def read_page(
    evals: EvalService, tenant: str, eval_id: str, run_id: str, f: ItemFilters, after: str | None
) -> ItemsPage:
    """The items of one page after the item ``after`` (the run's first page when None)."""
    status = f.status or None
    if f.criterion is None:
        page = await evals.list_items(tenant, eval_id, run_id, after, PAGE_SIZE, "asc", status)
        last = page.items[-1].id if page.has_more and page.items else None
        return ItemsPage(page.items, last, len(page.items), False)
    found: list[OutputItemRecord] = []
    scanned, cursor = 0, after
    while scanned < SCAN_LIMIT:
        chunk = await evals.list_items(
            tenant, eval_id, run_id, cursor, min(CHUNK, SCAN_LIMIT - scanned), "asc", status
        )
        for i, item in enumerate(chunk.items):
            scanned, cursor = scanned + 1, item.id
            if not f.keeps(item):
                continue
            found.append(item)
            if len(found) == PAGE_SIZE:  # full: is there another match after it?
                more = chunk.has_more or any(f.keeps(x) for x in chunk.items[i + 1 :])
                return ItemsPage(found, item.id if more else None, scanned, False)
        if not chunk.has_more or not chunk.items:
            return ItemsPage(found, None, scanned, False)
    return ItemsPage(found, cursor, scanned, True)
