"""One process's share of a model's shared rate buckets: units taken from the database in small blocks
and handed out locally, so a busy worker does not make a database round trip (on one hot row) per call.

A model's ``rpm`` bucket (``store.rate_limits``) is the single source of truth: every call still spends
a unit taken from it, so all nodes together never send more than the provider allows. What changes is
how often a process asks: it takes ``block`` units at once, where ``block`` is a tenth of a second's worth
of the limit (capped at ``MAX_BLOCK``; 1, i.e. one round trip per call, for limits under 600 per minute),
and spends them within ``HOLD_SECONDS``. Units a process did not spend in time are dropped (a little
capacity lost, never an extra call); the time they are held is the only slack against the limit's
timing, and it is a fraction of a second.

Tokens work the other way round: a call's tokens are known after it, and are charged in blocks too
(at most a tenth of a second's worth, or ``HOLD_SECONDS``, behind), while the check before a call reuses
the bucket's last answer for up to ``HOLD_SECONDS``.
"""

from __future__ import annotations

import time

from jurist.ids import Clock
from jurist.store.rate_limits import RateBuckets

MAX_BLOCK = 64  # units taken at once, at most
HOLD_SECONDS = 0.25  # how long taken units may wait to be spent; how stale a token check may be
BLOCK_SECONDS = 0.1  # a block is this many seconds' worth of the limit


def block_for(limit: int, cap: int | None = MAX_BLOCK, period: float = 60.0) -> int:
    block = max(1, int(limit / period * BLOCK_SECONDS))
    return block if cap is None else min(cap, block)


class RequestShare:
    """Units of a shared requests bucket, taken in blocks."""

    def __init__(self, buckets: RateBuckets, name: str, limit: int, clock: Clock) -> None:
        self._buckets = buckets
        self._name = name
        self._limit = limit
        self._clock = clock
        self.block = block_for(limit)
        self._left = 0
        self._until = 0.0

    async def take(self) -> float:
        """0 when this call may go (a unit is spent), else the seconds until one may be free."""
        if self._left > 0 and time.monotonic() < self._until:
            self._left -= 1
            return 0.0
        self._left = 0
        for cost in (self.block, 1) if self.block > 1 else (1,):
            allowance = await self._buckets.take(self._name, self._limit, cost, self._clock.now())
            if allowance.allowed:
                self._left = cost - 1
                self._until = time.monotonic() + HOLD_SECONDS
                return 0.0
        return max(allowance.retry_after, 0.001)


class TokenShare:
    """A shared tokens bucket: checked before a call (the last answer reused briefly), charged after it
    in blocks."""

    def __init__(self, buckets: RateBuckets, name: str, limit: int, clock: Clock) -> None:
        self._buckets = buckets
        self._name = name
        self._limit = limit
        self._clock = clock
        self._block = block_for(limit, cap=None)
        self._checked_until = 0.0  # the bucket had tokens left when last asked, until then
        self._owed = 0
        self._owed_since = 0.0

    async def wait(self) -> float:
        """0 when the bucket is not spent (a call may go), else the seconds until it is paid back."""
        if time.monotonic() < self._checked_until:
            return 0.0
        await self.settle()
        allowance = await self._buckets.peek(self._name, self._limit, self._clock.now())
        if not allowance.allowed:
            return max(allowance.retry_after, 0.001)
        if allowance.remaining >= 2 * self._block:  # room for a while: no need to ask before each call
            self._checked_until = time.monotonic() + HOLD_SECONDS
        return 0.0

    async def charge(self, tokens: int) -> None:
        """Owe ``tokens``; pay the bucket once a block is owed or it has been owed a while."""
        if not self._owed:
            self._owed_since = time.monotonic()
        self._owed += tokens
        if self._owed >= self._block or time.monotonic() - self._owed_since >= HOLD_SECONDS:
            await self.settle()

    async def settle(self) -> None:
        owed, self._owed = self._owed, 0
        if owed:
            self._checked_until = 0.0
            await self._buckets.charge(self._name, self._limit, owed, self._clock.now())
