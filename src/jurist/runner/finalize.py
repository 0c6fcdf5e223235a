"""Assembling a batch's output and error files: streamed from the database in input order, a page at
a time, merged with the spool of cache-answered lines (runner/spool.py), so memory stays flat whatever
the batch size."""

from __future__ import annotations

import orjson

from jurist.ids import new_id
from jurist.runner.spool import read_spool, spool_id
from jurist.store.batch_tasks import BatchTasks
from jurist.store.blobs import BlobStore, BlobWriter
from jurist.store.records import BatchRecord, FileRecord, LineState

_PAGE = 1000
EXPIRED_ERROR = {
    "code": "batch_expired",
    "message": "This request could not be executed before the completion window expired.",
}


def expired_line(custom_id: str) -> bytes:
    line = {"id": new_id("batch_req_", 12), "custom_id": custom_id, "response": None, "error": EXPIRED_ERROR}
    return orjson.dumps(line)


async def finalize_batch(
    tasks: BatchTasks, blobs: BlobStore, batch: BatchRecord, owner: str, now: int
) -> bool:
    """Write the files and move the batch to its outcome; False (files dropped) if the task was lost."""
    batch_id = batch.id
    out_id, err_id = new_id("file-batch_output-", 12), new_id("file-batch_error-", 12)
    out, err = blobs.writer(out_id), blobs.writer(err_id)
    spooled = read_spool(blobs, batch_id)
    try:
        pending = await anext(spooled, None)
        after = 0
        while page := await tasks.finished_lines(batch_id, after, _PAGE):
            for item in page:
                while pending is not None and pending[0] < item.line:  # cache answers come first
                    await out.write(pending[1] + b"\n")
                    pending = await anext(spooled, None)
                if item.state == LineState.SUCCEEDED and item.response:
                    await out.write(item.response.encode() + b"\n")
                elif item.state == LineState.ERRORED and item.response:
                    await err.write(item.response.encode() + b"\n")
                elif item.state == LineState.EXPIRED:
                    await err.write(expired_line(item.custom_id) + b"\n")
            after = page[-1].line
        while pending is not None:
            await out.write(pending[1] + b"\n")
            pending = await anext(spooled, None)
        output = await _commit(out, out_id, blobs, batch, "output", now)
        error = await _commit(err, err_id, blobs, batch, "error", now)
        done = await tasks.finish(batch_id, owner, output, error, now)
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


async def _commit(
    writer: BlobWriter, file_id: str, blobs: BlobStore, batch: BatchRecord, kind: str, now: int
) -> FileRecord | None:
    """The file a writer made, or None (and nothing kept) when it wrote nothing."""
    if not writer.size:
        await writer.abort()
        return None
    size = await writer.commit()
    name = f"{batch.id}_{kind}.jsonl"
    return FileRecord(file_id, batch.tenant, "batch_output", name, size, now, None, blobs.kind)


async def _drop(blobs: BlobStore, writer: BlobWriter, file_id: str) -> None:
    try:
        await writer.abort()
    finally:
        await blobs.delete(file_id)
