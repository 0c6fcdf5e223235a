"""Recording usage without a database write per request: counts add up in memory, keyed by
(tenant, UTC day, model), and are written to the store every ``usage_flush_seconds``, on close, and
before usage is read in this process. A crash loses at most the last interval's counts.

Cost is worked out when the usage is recorded, from the model's prices per 1M tokens
(``input_price_per_million``, ``output_price_per_million``), so a price change applies from then on.
Tokens and cost count what the judge model was asked and answered: an answer from the judge cache
counts as a request (or batch line) and a cache hit, with no judge call, no tokens and no cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from jurist.ids import Clock
from jurist.protocol.chat import ChatCompletion
from jurist.store.usage import UsageCounts, UsageRow, UsageStore, judge_calls

log = logging.getLogger("jurist.usage")
_DAY = 86_400


class UsageCounter(Protocol):
    """Where recorded usage is also counted, as each flush writes it (the Prometheus metrics): the
    request path pays nothing for them, and they lag the database by nothing."""

    def tenant_usage(self, tenant: str, counts: UsageCounts) -> None: ...


class Prices:
    """A model's prices per 1M input and output tokens."""

    __slots__ = ("input", "output")

    def __init__(self, input_per_million: float, output_per_million: float) -> None:
        self.input = input_per_million / 1_000_000
        self.output = output_per_million / 1_000_000

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return prompt_tokens * self.input + completion_tokens * self.output


def utc_day(epoch_day: int) -> str:
    """``YYYY-MM-DD`` of a day counted from 1970-01-01 (UTC)."""
    return (dt.date(1970, 1, 1) + dt.timedelta(days=epoch_day)).isoformat()


class UsageRecorder:
    """Implements ``runner.ports.UsageSink``: ``record`` is synchronous and does no I/O."""

    def __init__(
        self,
        store: UsageStore,
        prices: Mapping[str, Prices],
        clock: Clock,
        flush_seconds: float,
        counter: UsageCounter | None = None,
    ) -> None:
        self.store = store
        self._prices = dict(prices)
        self._clock = clock
        self._flush_seconds = flush_seconds
        self._counter = counter
        self._pending: dict[tuple[str, str, str], list[Any]] = {}  # the counts, in UsageCounts order
        self._day = (-1, "")
        self._flushing = asyncio.Lock()

    def record(self, tenant: str, model: str, counts: UsageCounts) -> None:
        """Add what one request or batch line (or several of one model) used; its cost is worked out
        here from the model's prices (whatever ``counts.cost`` says)."""
        c = counts
        self.add(
            tenant, model, c.requests, c.judge_calls, c.prompt_tokens, c.completion_tokens, c.cache_hits,
            c.batch_lines,
        )  # fmt: skip

    def record_completion(
        self, tenant: str, model: str, completion: ChatCompletion, *, hit: bool, requests: int = 1
    ) -> None:
        """``record`` what a completion used (``store.usage.completion_usage``), with no object made;
        ``hit``: it came from the judge cache (its ``cache_status``, which the caller has read)."""
        if hit:
            self.add(tenant, model, requests, cache_hits=1)
            return
        usage = completion.usage
        self.add(
            tenant, model, requests, judge_calls(completion), usage.prompt_tokens, usage.completion_tokens
        )

    def add(
        self, tenant: str, model: str, requests: int = 0, judge_calls: int = 0, prompt_tokens: int = 0,
        completion_tokens: int = 0, cache_hits: int = 0, batch_lines: int = 0,
    ) -> None:  # fmt: skip
        """The counts, added in place (the request path's cost: no object per request)."""
        price = self._prices.get(model)
        cost = price.cost(prompt_tokens, completion_tokens) if price is not None else 0.0
        key = (tenant, self._today(), model)
        held = self._pending.get(key)
        if held is None:
            self._pending[key] = [
                requests, judge_calls, prompt_tokens, completion_tokens, cache_hits, batch_lines, cost,
            ]  # fmt: skip
            return
        held[0] += requests
        held[1] += judge_calls
        held[2] += prompt_tokens
        held[3] += completion_tokens
        held[4] += cache_hits
        held[5] += batch_lines
        held[6] += cost

    def _today(self) -> str:
        epoch_day = int(self._clock.now() // _DAY)
        if epoch_day != self._day[0]:
            self._day = (epoch_day, utc_day(epoch_day))
        return self._day[1]

    @property
    def pending(self) -> int:
        """Rows waiting to be written."""
        return len(self._pending)

    async def flush(self) -> None:
        """Write what was recorded so far. On failure the counts stay pending (and the error is raised)."""
        async with self._flushing:
            if not self._pending:
                return
            taken, self._pending = self._pending, {}
            rows = [
                UsageRow(UsageCounts(*c), tenant, day, model) for (tenant, day, model), c in taken.items()
            ]
            try:
                await self.store.add(rows)
            except BaseException:
                for key, counts in taken.items():  # put back, with what was recorded meanwhile
                    held = self._pending.get(key)
                    if held is not None:
                        _add_into(counts, held)
                    self._pending[key] = counts
                raise
            if self._counter is not None:  # counted once written: a failed write is counted later
                for row in rows:
                    self._counter.tenant_usage(row.tenant or "", row.counts)

    async def run(self, stop: asyncio.Event) -> None:
        """Flush every ``flush_seconds`` until ``stop``, then once more."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._flush_seconds)
            await self._flush_logged()
        await self._flush_logged()

    async def _flush_logged(self) -> None:
        try:
            await self.flush()
        except Exception:
            log.exception("writing usage failed; %d rows kept for the next flush", len(self._pending))


def _add_into(total: list[Any], more: list[Any]) -> None:
    for i, value in enumerate(more):
        total[i] += value
