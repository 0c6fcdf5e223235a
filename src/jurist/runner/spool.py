"""Lines the judge cache answers at validation never become database rows: their finished output lines
go to a *spool* blob (``spool-<batch id>``), one ``<line number>\\t<output line>`` record per line in
input order, and finalize merges the spool with the executed lines by line number.

Crash safety: validation deletes and rewrites the spool from the start (as it clears the batch's rows),
commits it before the batch leaves ``validating``, and the spool is deleted only after the batch's files
are committed. A spool that is missing (a batch validated before spools existed) reads as empty.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from jurist.store.blobs import BlobStore, BlobWriter, split_lines


def spool_id(batch_id: str) -> str:
    return f"spool-{batch_id}"


class SpoolWriter:
    def __init__(self, blobs: BlobStore, batch_id: str) -> None:
        self._blobs = blobs
        self._id = spool_id(batch_id)
        self._writer: BlobWriter | None = None

    async def open(self) -> None:
        await self._blobs.delete(self._id)  # a previous, interrupted validation's spool
        self._writer = self._blobs.writer(self._id)

    async def add(self, line: int, output: bytes) -> None:
        assert self._writer is not None, "open() first"
        await self._writer.write(b"%d\t%s\n" % (line, output))

    async def commit(self) -> None:
        assert self._writer is not None, "open() first"
        await self._writer.commit()

    async def discard(self) -> None:
        if self._writer is not None:
            await self._writer.abort()
        await self._blobs.delete(self._id)


async def read_spool(blobs: BlobStore, batch_id: str) -> AsyncIterator[tuple[int, bytes]]:
    """``(line number, output line)`` in input order."""
    try:
        async for record in split_lines(blobs.read(spool_id(batch_id))):
            number, _, output = record.partition(b"\t")
            yield int(number), output
    except FileNotFoundError:
        return
