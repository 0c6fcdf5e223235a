"""Assembling a batch's output and error files: streamed from the database in input order, a page at
a time, merged with the spool of cache-answered lines (runner/spool.py), so memory stays flat whatever
the batch size."""

from __future__ import annotations

import orjson

from jurist.ids import new_id
from jurist.runner.spool import read_spool, spool_id
from jurist.store.blobs import BlobStore, BlobWriter
from jurist.store.records import ERRORED, LINE_EXPIRED, SUCCEEDED, FileRecord
from jurist.store.sql_store import SqlStore

_PAGE = 1000
EXPIRED_ERROR = {
    "code": "batch_expired",
    "message": "This request could not be executed before the completion window expired.",
}


def expired_line(custom_id: str) -> bytes:
    line = {"id": new_id("batch_req_", 12), "custom_id": custom_id, "response": None, "error": EXPIRED_ERROR}
    return orjson.dumps(line)


async def finalize_batch(store: SqlStore, blobs: BlobStore, batch_id: str, owner: str, now: int) -> bool:
    """Write the files and move the batch to its outcome; False (files dropped) if the task was lost."""
    batch = await store.get_batch(None, batch_id)
    if batch is None:
        return False
    out_id, err_id = new_id("file-batch_output-", 12), new_id("file-batch_error-", 12)
    out, err = blobs.writer(out_id), blobs.writer(err_id)
    spooled = read_spool(blobs, batch_id)
    try:
        pending = await anext(spooled, None)
        after = 0
        while page := await store.finished_lines(batch_id, after, _PAGE):
            for item in page:
                while pending is not None and pending[0] < item.line:  # cache answers come first
                    await out.write(pending[1] + b"\n")
                    pending = await anext(spooled, None)
                if item.state == SUCCEEDED and item.response:
                    await out.write(item.response.encode() + b"\n")
                elif item.state == ERRORED and item.response:
                    await err.write(item.response.encode() + b"\n")
                elif item.state == LINE_EXPIRED:
                    await err.write(expired_line(item.custom_id) + b"\n")
            after = page[-1].line
        while pending is not None:
            await out.write(pending[1] + b"\n")
            pending = await anext(spooled, None)
        files = []
        for writer, file_id, kind in ((out, out_id, "output"), (err, err_id, "error")):
            if writer.size:
                size = await writer.commit()
                files.append(
                    FileRecord(
                        file_id,
                        batch.tenant,
                        "batch_output",
                        f"{batch_id}_{kind}.jsonl",
                        size,
                        now,
                        None,
                        blobs.kind,
                    )
                )
            else:
                await writer.abort()
        done = await store.finish_batch(
            batch_id, owner, files, out_id if out.size else None, err_id if err.size else None, now
        )
    except BaseException:
        await _drop(blobs, out, out_id)
        await _drop(blobs, err, err_id)
        raise
    if done:
        await blobs.delete(spool_id(batch_id))
    else:
        for file_id in (out_id, err_id):
            await blobs.delete(file_id)
    return done


async def _drop(blobs: BlobStore, writer: BlobWriter, file_id: str) -> None:
    try:
        await writer.abort()
    finally:
        await blobs.delete(file_id)
