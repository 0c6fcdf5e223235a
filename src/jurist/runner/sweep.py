"""Housekeeping, one node at a time: every ``sweep_seconds`` each worker tries to take the ``sweep``
node lease (``store.node_leases``); the holder keeps it while it lives (it renews it each round, and
gives it up when it stops), and removes

- ``orphan_blobs``: file bytes no file row owns, older than a grace period (an upload, a finalize or a
  delete that crashed between its commit and its blob step; parts of a write that never finished);
- ``spools``: the spool of a batch that no longer needs it (finished, or gone: runner/spool.py);
- ``expired_files``: files whose ``expires_at`` has passed (the row, then the bytes);
- ``batch_rows``: the line rows of batches finished more than ``batch_rows_retention_days`` ago (their
  output and error files already hold every result).

The grace period keeps the sweep off bytes whose row is about to be committed: an upload in progress
writes its bytes first, and a disk write keeps its ``.part`` name until it commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from jurist.ids import Clock
from jurist.store.blobs import BlobStore, DiskBlobs
from jurist.store.housekeeping import SPOOL_PREFIX, Housekeeping
from jurist.store.node_leases import NodeLeases
from jurist.store.records import FileStorage

log = logging.getLogger("jurist.sweep")
LEASE = "sweep"
KINDS = ("orphan_blobs", "spools", "expired_files", "batch_rows")


@dataclass(frozen=True)
class SweepConfig:
    every_seconds: float = 300.0
    rows_retention_seconds: float = 7 * 86400.0
    grace_seconds: float = 3600.0  # an orphan younger than this may still be committed: left alone
    page: int = 500


class SweepEvents(Protocol):
    """What the sweep reports (metrics implement it)."""

    def swept(self, counts: Mapping[str, int]) -> None: ...


class Sweeper:
    def __init__(
        self,
        housekeeping: Housekeeping,
        leases: NodeLeases,
        blobs: BlobStore,
        disk: DiskBlobs | None,
        clock: Clock,
        owner: str,
        config: SweepConfig,
        events: SweepEvents | None = None,
    ) -> None:
        self.housekeeping = housekeeping
        self.leases = leases
        self.blobs = blobs
        self.disk = disk  # this node's disk, swept whatever the storage now is (it may have changed)
        self.clock = clock
        self.owner = owner
        self.config = config
        self.events = events

    async def run(self, stop: asyncio.Event) -> None:
        """A round now and every ``every_seconds`` until ``stop``; then the lease is given up."""
        try:
            while not stop.is_set():
                try:
                    await self.run_once()
                except Exception:
                    log.exception("sweep failed; trying again next round")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.config.every_seconds)
        finally:
            with contextlib.suppress(Exception):
                await self.leases.release(LEASE, self.owner)

    async def run_once(self) -> dict[str, int] | None:
        """One round, if this node holds the lease; what it removed by kind (None: another node holds it)."""
        now = self.clock.now()
        hold = max(2 * self.config.every_seconds, 60.0)  # renewed each round; outlives a slow round
        if not await self.leases.take(LEASE, self.owner, now, now + hold):
            return None
        counts = dict.fromkeys(KINDS, 0)
        before = now - self.config.grace_seconds
        if self.disk is not None:
            await self._disk(before, counts)
        await self._chunks(before, counts)
        await self._expired(int(now), counts)
        await self._rows(int(now - self.config.rows_retention_seconds), counts)
        if any(counts.values()):
            log.info("sweep removed %s", ", ".join(f"{n} {kind}" for kind, n in counts.items() if n))
        if self.events is not None:
            self.events.swept(counts)
        return counts

    async def _disk(self, before: float, counts: dict[str, int]) -> None:
        assert self.disk is not None
        names = await self.disk.idle(before)
        for start in range(0, len(names), self.config.page):
            page = names[start : start + self.config.page]
            spools = {n: n[len(SPOOL_PREFIX) :] for n in page if n.startswith(SPOOL_PREFIX) and "." not in n}
            files = [n for n in page if n not in spools and not n.endswith(".part")]
            keep = await self.housekeeping.known_files(files)
            needed = await self.housekeeping.spool_owners(list(spools.values()))
            for name in page:
                if name in keep or spools.get(name) in needed:
                    continue
                await self.disk.delete(name)
                counts["spools" if name in spools else "orphan_blobs"] += 1

    async def _chunks(self, before: float, counts: dict[str, int]) -> None:
        while ids := await self.housekeeping.orphan_chunks(before, self.config.page):
            await self.housekeeping.drop_chunks(ids)
            spools = sum(1 for i in ids if i.startswith(SPOOL_PREFIX))
            counts["spools"] += spools
            counts["orphan_blobs"] += len(ids) - spools
            if len(ids) < self.config.page:
                break

    async def _expired(self, now: int, counts: dict[str, int]) -> None:
        while files := await self.housekeeping.take_expired_files(now, self.config.page):
            for record in files:  # rows and database parts are gone; bytes on disk follow
                if record.storage is FileStorage.DISK:
                    await (self.disk or self.blobs).delete(record.id)
            counts["expired_files"] += len(files)
            if len(files) < self.config.page:
                break

    async def _rows(self, finished_before: int, counts: dict[str, int]) -> None:
        page = max(1, self.config.page // 50)  # batches per transaction: each may hold many rows
        while True:
            batches, rows = await self.housekeeping.drop_finished_rows(finished_before, page)
            counts["batch_rows"] += rows
            if batches < page:
                break
