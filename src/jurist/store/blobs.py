"""File bytes: on local disk (default, single node) or in the database (multi-node: nodes then share
nothing but PostgreSQL). Writers stream in parts and become visible only on ``commit``."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from jurist.store.chunks import ChunkStore
from jurist.store.records import FileStorage

PART_BYTES = 1 << 20


class BlobWriter(Protocol):
    size: int

    async def write(self, data: bytes) -> None: ...

    async def commit(self) -> int: ...

    async def abort(self) -> None: ...


class BlobStore(Protocol):
    kind: FileStorage

    def writer(self, file_id: str) -> BlobWriter: ...

    def read(self, file_id: str) -> AsyncIterator[bytes]: ...

    async def read_range(self, file_id: str, start: int, length: int) -> bytes: ...

    async def delete(self, file_id: str) -> None: ...


class _DiskWriter:
    """Buffers small writes (output lines) and hands the disk 1 MiB at a time, off the event loop."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._tmp = path.with_name(path.name + ".part")
        self._fh = open(self._tmp, "wb")  # noqa: SIM115 (closed in commit/abort)
        self._buffer = bytearray()
        self.size = 0

    async def write(self, data: bytes) -> None:
        self.size += len(data)
        self._buffer += data
        if len(self._buffer) >= PART_BYTES:
            chunk, self._buffer = bytes(self._buffer), bytearray()
            await asyncio.to_thread(self._fh.write, chunk)

    async def commit(self) -> int:
        if self._buffer:
            chunk, self._buffer = bytes(self._buffer), bytearray()
            await asyncio.to_thread(self._fh.write, chunk)

        def finish() -> None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._tmp.replace(self._path)

        await asyncio.to_thread(finish)
        return self.size

    async def abort(self) -> None:
        self._fh.close()
        self._tmp.unlink(missing_ok=True)


class DiskBlobs:
    kind = FileStorage.DISK

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, file_id: str) -> Path:
        if "/" in file_id or file_id.startswith("."):
            raise ValueError(f"unsafe file id {file_id!r}")
        return self.root / file_id

    def writer(self, file_id: str) -> BlobWriter:
        self.root.mkdir(parents=True, exist_ok=True)
        return _DiskWriter(self._path(file_id))

    async def read(self, file_id: str) -> AsyncIterator[bytes]:
        fh = await asyncio.to_thread(open, self._path(file_id), "rb")
        try:
            while chunk := await asyncio.to_thread(fh.read, PART_BYTES):
                yield chunk
        finally:
            fh.close()

    async def read_range(self, file_id: str, start: int, length: int) -> bytes:
        """``length`` bytes from ``start`` (one line of a file, say), without reading the rest."""

        def read() -> bytes:
            with open(self._path(file_id), "rb") as fh:
                fh.seek(start)
                return fh.read(length)

        return await asyncio.to_thread(read)

    async def delete(self, file_id: str) -> None:
        self._path(file_id).unlink(missing_ok=True)

    async def idle(self, before: float) -> list[str]:
        """Names under the root last written before ``before`` (the sweep's candidates), including
        the ``.part`` files of writes that never finished."""

        def scan() -> list[str]:
            if not self.root.is_dir():
                return []
            with os.scandir(self.root) as entries:
                return sorted(e.name for e in entries if e.is_file() and e.stat().st_mtime < before)

        return await asyncio.to_thread(scan)


class _DatabaseWriter:
    def __init__(self, chunks: ChunkStore, file_id: str) -> None:
        self._chunks = chunks
        self._file_id = file_id
        self._buffer = bytearray()
        self._part = 0
        self.size = 0

    async def write(self, data: bytes) -> None:
        self.size += len(data)
        self._buffer += data
        while len(self._buffer) >= PART_BYTES:
            await self._flush(bytes(self._buffer[:PART_BYTES]))
            del self._buffer[:PART_BYTES]

    async def _flush(self, data: bytes) -> None:
        await self._chunks.put(self._file_id, self._part, data)
        self._part += 1

    async def commit(self) -> int:
        if self._buffer or self._part == 0:
            await self._flush(bytes(self._buffer))
            self._buffer.clear()
        return self.size

    async def abort(self) -> None:
        await self._chunks.drop(self._file_id)


class DatabaseBlobs:
    kind = FileStorage.DATABASE

    def __init__(self, chunks: ChunkStore) -> None:
        self._chunks = chunks

    def writer(self, file_id: str) -> BlobWriter:
        return _DatabaseWriter(self._chunks, file_id)

    async def read(self, file_id: str) -> AsyncIterator[bytes]:
        part = 0
        while (chunk := await self._chunks.get(file_id, part)) is not None:
            if chunk:
                yield chunk
            part += 1

    async def read_range(self, file_id: str, start: int, length: int) -> bytes:
        """``length`` bytes from ``start``: only the parts that hold them (every part but the last is
        ``PART_BYTES`` long)."""
        out = bytearray()
        part, skip = divmod(start, PART_BYTES)
        while len(out) < length and (chunk := await self._chunks.get(file_id, part)) is not None:
            out += chunk[skip : skip + length - len(out)]
            skip, part = 0, part + 1
        return bytes(out)

    async def delete(self, file_id: str) -> None:
        await self._chunks.drop(file_id)


async def split_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Lines of a byte stream, without their line breaks."""
    rest = b""
    async for chunk in chunks:
        rest += chunk
        *complete, rest = rest.split(b"\n")
        for line in complete:
            yield line.rstrip(b"\r")
    if rest:
        yield rest.rstrip(b"\r")
