"""``BlobStore.read_range`` (on disk and in the database, across 1 MiB parts) and the review page's index
built over real blobs: each line's offsets read back exactly that line, its input line is joined on
``custom_id``, and the filter facts are the judgment's."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jurist.api.console.review_filters import Filters, select
from jurist.api.console.review_index import ReviewIndexes, build
from jurist.store.blobs import PART_BYTES, BlobStore, DatabaseBlobs, DiskBlobs
from jurist.store.chunks import SqlChunkStore
from jurist.store.database import SqliteDatabase
from jurist.store.migrations import upgrade


@pytest.fixture(params=["disk", "database"])
async def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "disk":
        yield DiskBlobs(tmp_path / "files")
        return
    database = SqliteDatabase(tmp_path / "blobs.db")
    await database.open()
    await upgrade(database)
    yield DatabaseBlobs(SqlChunkStore(database))
    await database.close()


async def put(blobs: BlobStore, file_id: str, data: bytes) -> None:
    writer = blobs.writer(file_id)
    await writer.write(data)
    await writer.commit()


async def test_a_range_is_read_across_parts(blobs: BlobStore) -> None:
    data = bytes(i % 251 for i in range(2 * PART_BYTES + 12345))
    await put(blobs, "file-range", data)
    for start, length in [
        (0, 10),
        (PART_BYTES - 5, 10),
        (PART_BYTES - 1, PART_BYTES + 2),
        (len(data) - 3, 50),
    ]:
        assert await blobs.read_range("file-range", start, length) == data[start : start + length]


def output_line(custom_id: str, judgment: dict[str, object]) -> str:
    body = {"model": "pai-judge", "judgment": judgment, "choices": [{"message": {"content": "PAI"}}]}
    return json.dumps({"id": "r", "custom_id": custom_id, "response": {"status_code": 200, "body": body}})


async def test_the_index_points_at_each_line_and_holds_its_facts(blobs: BlobStore) -> None:
    filler = "x" * 300_000  # lines long enough that some cross a part's end
    inputs = [json.dumps({"custom_id": f"c{i}", "body": {"pad": filler, "n": i}}) for i in range(8)]
    judgments = [
        {"mode": "pairwise", "scored": True, "winner": "response_1", "confidence": 0.9},
        {
            "mode": "pairwise",
            "scored": True,
            "winner": "tie",
            "confidence": 0.0,
            "swap": {"consistent": False},
        },
        {"mode": "pairwise", "scored": False},
        {"mode": "single", "scored": True, "overall_score": 4, "abstained": True, "confidence": 0.3},
        {
            "mode": "single",
            "scored": True,
            "overall_score": 2,
            "flags": [{"code": "x", "message": "m", "field": "answer"}],
        },
    ]
    outputs = [output_line(f"c{i}", j) for i, j in reversed(list(enumerate(judgments)))]
    outputs.append(json.dumps({"id": "r", "custom_id": "c7", "response": None, "error": {"code": "e"}}))
    await put(blobs, "file-in", ("\n".join(inputs) + "\n").encode())
    await put(blobs, "file-out", ("\n".join(outputs) + "\n").encode())
    index = await build(blobs, "file-in", "file-out")
    assert [e.custom_id for e in index.entries] == ["c4", "c3", "c2", "c1", "c0", "c7"]
    for e in index.entries:
        raw_in = await blobs.read_range("file-in", e.in_at, e.in_len)
        assert json.loads(raw_in)["body"]["n"] == int(e.custom_id[1:])
        assert json.loads(await blobs.read_range("file-out", e.out_at, e.out_len))["custom_id"] == e.custom_id
    facts = {
        e.custom_id: (e.verdict, e.abstained, e.inconsistent, e.unscored, e.flagged) for e in index.entries
    }
    assert facts == {
        "c0": ("1", False, False, False, False),
        "c1": ("tie", False, True, False, False),
        "c2": (None, False, False, True, False),
        "c3": (4, True, False, False, False),
        "c4": (2, False, False, False, True),
        "c7": (None, False, False, True, False),
    }

    def ids(f: Filters, gold: dict[str, str | int] | None = None) -> list[str]:
        return [index.entries[i].custom_id for i in select(f, index.entries, gold or {})]

    assert ids(Filters(low=True, threshold=0.5)) == ["c3", "c1"]
    assert ids(Filters(score=4)) == ["c3"]
    assert ids(Filters(winner="1")) == ["c0"]
    assert ids(Filters(disagrees=True), {"c0": "2", "c1": "tie", "c4": 2}) == ["c0"]


async def test_indexes_keep_the_last_few_batches(blobs: BlobStore) -> None:
    for n in range(3):
        await put(
            blobs, f"file-out{n}", (output_line("a", {"mode": "single", "scored": False}) + "\n").encode()
        )
    indexes = ReviewIndexes(keep=2)
    first = await indexes.get(blobs, None, "file-out0")
    assert await indexes.get(blobs, None, "file-out0") is first  # kept: not built again
    await indexes.get(blobs, None, "file-out1")
    await indexes.get(blobs, None, "file-out2")  # the least recently used (0) goes
    assert await indexes.get(blobs, None, "file-out0") is not first
