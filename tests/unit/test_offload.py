"""CPU-bound work off the event loop and out of the server's process (issue 18): the offload process
runs pure functions, survives its own death, and a batch output's lines are parsed once, there."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

import orjson
import pytest

from jurist.errors import OffloadFailed
from jurist.evaluation.calibration import fit_calibrator
from jurist.runner.execute import output_line_bytes
from jurist.service.operations.offload import ProcessOffload
from jurist.service.trust import line_facts
from jurist.service.trust.calibrations import OFFLOAD_MIN_POINTS, CalibrationService, wire_all
from jurist.service.trust.line_facts import LineFactsIndex, facts_of_text
from jurist.store.calibrations import CalibrationRecord

R = TypeVar("R")
JUDGMENT = {
    "mode": "pairwise",
    "scored": True,
    "winner": "response_2",
    "parsed_by": "json",
    "confidence": 0.8,
}


def output(n: int) -> bytes:
    body = orjson.dumps({"model": "pai-judge", "judgment": JUDGMENT, "choices": []})
    return b"".join(output_line_bytes("batch_req_x", f"c{i}", "req", 200, body) + b"\n" for i in range(n))


async def test_work_runs_in_another_process_which_is_started_again_after_it_dies() -> None:
    offload = ProcessOffload()
    try:
        assert not offload.started  # spawned on first use only
        assert await offload(os.getpid) != os.getpid()
        with pytest.raises(OffloadFailed) as died:
            await offload(os._exit, 3)
        assert died.value.status_code == 503 and died.value.code == "offload_failed"
        assert await offload(sum, [1, 2, 3]) == 6  # a new process
    finally:
        offload.close()
    assert not offload.started


async def test_an_output_is_parsed_once_in_the_offload_process_in_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(line_facts, "BLOCK_BYTES", 256 << 10)  # several blocks, each of whole lines
    data = output(3000)
    calls: list[int] = []
    offload = ProcessOffload()

    async def counted(fn: Callable[..., R], /, *args: object) -> R:
        calls.append(len(args[0]))  # type: ignore[arg-type]
        return await offload(fn, *args)

    async def read() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 65536):
            yield data[start : start + 65536]

    index = LineFactsIndex(counted, offload_min_bytes=0)
    try:
        first, second = await asyncio.gather(
            index.get("file-1", len(data), read), index.get("file-1", 1, read)
        )
        assert first is second and len(first) == 3000 and first["c2999"].verdicts[0].verdict == "response_2"
        assert len(calls) > 1 and sum(calls) == len(data)  # blocks of whole lines, all of them, once
        assert first == facts_of_text(data)
        assert await index.get("file-1", len(data), read) is first and sum(calls) == len(data)  # cached
    finally:
        offload.close()


async def test_a_small_output_is_parsed_in_a_thread_and_the_cache_keeps_recent_outputs() -> None:
    used: list[str] = []

    async def never(fn: Callable[..., R], /, *args: object) -> R:
        used.append("process")
        raise AssertionError("a small output needs no process")

    index = LineFactsIndex(never, offload_min_bytes=1 << 20, max_lines=25)

    def reader(n: int) -> Callable[[], AsyncIterator[bytes]]:
        async def read() -> AsyncIterator[bytes]:
            yield output(n)

        return read

    a = await index.get("a", 100, reader(10))
    b = await index.get("b", 100, reader(10))
    assert await index.get("a", 100, reader(0)) is a  # kept, and now the most recent
    await index.get("c", 100, reader(10))  # 30 lines > 25: the least recently used (b) goes
    assert await index.get("b", 100, reader(0)) == {} and b  # parsed again (from an empty reader here)
    assert used == []


async def test_a_large_calibration_is_shown_by_the_offload_process_as_a_thread_would_show_it() -> None:
    rng = random.Random(4)
    points = tuple((rng.random(), rng.random() < 0.8) for _ in range(OFFLOAD_MIN_POINTS))
    record = CalibrationRecord(
        id="cal_1", tenant="t", model="m", mode="pairwise", version=1, source="request", batches=("b",),
        calibrator=dict(fit_calibrator([p for p, _ in points], [a for _, a in points]).as_dict()),  # type: ignore[arg-type]
        points=points, created_at=1,
    )  # fmt: skip
    sent: list[str] = []
    offload = ProcessOffload()

    async def recorded(fn: Callable[..., R], /, *args: object) -> R:
        sent.append(fn.__name__)
        return await offload(fn, *args)

    service = CalibrationService(
        cast(Any, None), cast(Any, None), cast(Any, None), {}, cast(Any, None), recorded
    )
    try:
        shown = await service.shown([record])
        assert sent == ["wire_all"] and shown == wire_all([record])  # the same figures, from the process
        small = CalibrationRecord(**{**record.__dict__, "points": points[:50]})
        await service.shown([small])
        assert sent == ["wire_all"]  # a small one: in a thread
    finally:
        offload.close()
