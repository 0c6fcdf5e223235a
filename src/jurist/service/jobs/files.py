"""The Files use case: upload (limits, quota, .jsonl + UTF-8 for batch input), list, get, delete, content."""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from jurist.errors import InvalidRequest, NotFound, PayloadTooLarge
from jurist.ids import Clock, new_id
from jurist.protocol.files import FileList, FileObject
from jurist.service.tenancy.limits import quota_exceeded
from jurist.store.blobs import BlobStore
from jurist.store.files import FileStore
from jurist.store.records import FileRecord
from jurist.store.tenant_load import TenantLoad, account_of

UPLOAD_PURPOSES = frozenset({"batch", "user_data", "assistants", "fine-tune", "vision", "evals"})
LISTED_PURPOSES = UPLOAD_PURPOSES | {"batch_output", "assistants_output", "fine-tune-results"}
BATCH_FILE_TTL = 30 * 86400
# C0 controls, DEL and C1 controls: refused in a file name (they would break the download's
# Content-Disposition header, logs and terminals); any other character, "/" included, is kept as sent.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class FileLimits:
    max_file_bytes: int
    tenant_quota_bytes: int  # a tenant's quota when its policy sets none


def not_found(file_id: str, param: str = "id") -> NotFound:
    return NotFound(f"No such File object: {file_id}", param=param)


def file_object(record: FileRecord) -> FileObject:
    return FileObject(
        id=record.id,
        bytes=record.bytes,
        created_at=record.created_at,
        expires_at=record.expires_at,
        filename=record.filename,
        purpose=record.purpose,
    )


class FileService:
    def __init__(
        self, store: FileStore, blobs: BlobStore, limits: FileLimits, clock: Clock, load: TenantLoad
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.limits = limits
        self.clock = clock
        self.load = load

    async def check_quota(self, tenant: str, incoming: int, quota: int | None = None) -> None:
        """429 when ``incoming`` more bytes would take the account (its sub-tenants included) past
        ``quota`` (the tenant's policy; without one, ``JURIST_TENANT_QUOTA_BYTES``)."""
        limit = self.limits.tenant_quota_bytes if quota is None else quota
        used = await self.load.stored_bytes(account_of(tenant))
        if used + incoming > limit:
            raise quota_exceeded(used, limit, incoming)

    def check_upload(self, filename: str, purpose: str) -> None:
        if purpose not in UPLOAD_PURPOSES:
            raise InvalidRequest(
                f"Invalid purpose {purpose!r}; expected one of {', '.join(sorted(UPLOAD_PURPOSES))}.",
                param="purpose",
            )
        bad = _CONTROL.search(filename)
        if bad is not None:
            raise InvalidRequest(
                f"The file name holds a control character (U+{ord(bad.group()):04X} at position "
                f"{bad.start()}); rename the file.",
                param="file",
            )
        if purpose == "batch" and not filename.lower().endswith(".jsonl"):
            raise InvalidRequest("Invalid file format for Batch API. Must be .jsonl", param="file")

    async def upload(
        self,
        tenant: str,
        filename: str,
        purpose: str,
        chunks: AsyncIterator[bytes],
        expires_after: int | None = None,
        quota: int | None = None,
    ) -> FileObject:
        """Store the bytes (streamed, size-checked), then the record; nothing is kept on failure."""
        self.check_upload(filename, purpose)
        limit = self.limits.max_file_bytes
        file_id = new_id("file-", 12)
        writer = self.blobs.writer(file_id)
        decoder = codecs.getincrementaldecoder("utf-8")() if purpose == "batch" else None
        try:
            async for chunk in chunks:
                if writer.size + len(chunk) > limit:
                    raise PayloadTooLarge(f"File is larger than the limit of {limit} bytes.", param="file")
                if decoder is not None:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError as exc:
                        raise InvalidRequest(
                            f"The file is not valid UTF-8 (byte {writer.size + exc.start}).", param="file"
                        ) from exc
                await writer.write(chunk)
            if decoder is not None:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError as exc:
                    raise InvalidRequest(
                        "The file ends in the middle of a UTF-8 character.", param="file"
                    ) from exc
            if writer.size == 0:
                raise InvalidRequest("The file is empty.", param="file")
            await self.check_quota(tenant, writer.size, quota)
            size = await writer.commit()
        except BaseException:
            await writer.abort()
            raise
        now = int(self.clock.now())
        ttl = expires_after or (BATCH_FILE_TTL if purpose == "batch" else None)
        record = FileRecord(
            id=file_id,
            tenant=tenant,
            purpose=purpose,
            filename=filename[:255] or "upload",
            bytes=size,
            created_at=now,
            expires_at=now + ttl if ttl else None,
            storage=self.blobs.kind,
        )
        try:
            await self.store.insert(record)
        except BaseException:
            await self.blobs.delete(file_id)
            raise
        return file_object(record)

    async def get(self, tenant: str, file_id: str) -> FileRecord:
        record = await self.store.get(tenant, file_id)
        if record is None:
            raise not_found(file_id)
        return record

    async def list(
        self, tenant: str, *, purpose: str | None, after: str | None, limit: int, order: str
    ) -> FileList:
        page = await self.store.page(tenant, purpose=purpose, after=after, limit=limit, order=order)
        data = [file_object(r) for r in page.items]
        return FileList(
            data=data,
            first_id=data[0].id if data else None,
            last_id=data[-1].id if data else None,
            has_more=page.has_more,
        )

    async def delete(self, tenant: str, file_id: str) -> None:
        record = await self.store.delete(tenant, file_id)
        if record is None:
            raise not_found(file_id)
        await self.blobs.delete(file_id)

    async def content(self, tenant: str, file_id: str) -> tuple[FileRecord, AsyncIterator[bytes]]:
        record = await self.get(tenant, file_id)
        return record, self.blobs.read(file_id)
