"""What a batch's output lines say, for its labels and calibrations: per custom_id, the model that judged
it, what a human label of it may be (``Kind``), and the verdicts it gives calibration points for.

An output file never changes once written, so its lines are parsed once (``facts_of``, a pure function)
and kept by output file id in a small LRU (``LineFactsIndex``). A large output is parsed in a worker
process (``Offload``): a label post or a calibration refit never parses 20,000 judgments on the
server's event loop, nor holds its GIL while other tenants wait (issue 18)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

import orjson

from jurist.evaluation.report_lines import read_judgment
from jurist.protocol.json_types import JSONObject
from jurist.protocol.judgment import PairwiseJudgment, SingleJudgment

R = TypeVar("R")
T = TypeVar("T")
OFFLOAD_MIN_BYTES = 256 << 10  # a smaller output is parsed in a thread: a process costs more
BLOCK_BYTES = 4 << 20  # output bytes per trip to the worker process
MAX_CACHED_LINES = 400_000  # across the cached outputs (the least recently used go first)


@dataclass(frozen=True, slots=True)
class Kind:
    """What a line's label may be: its mode and, for a single line, its scale and criterion names."""

    mode: str  # "pairwise" | "single"
    scale: tuple[int, int] | None = None
    criteria: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    """A verdict a labelled line gives a calibration point for: the line's own, or a cascade stage's."""

    model: str
    signal: float | None  # the raw confidence signal; None: none was given
    verdict: str | int | None  # the winner (pairwise) or overall score (single); None: unscored


@dataclass(frozen=True, slots=True)
class LineFacts:
    model: str  # the model the line was sent to (a cascade's name for a cascade's line)
    kind: Kind
    verdicts: tuple[Verdict, ...]
    cascade: bool  # the verdicts are the stages of a cascade


def judgment_facts(model: str, judgment: PairwiseJudgment | SingleJudgment) -> LineFacts:
    """What one judged line says (``model``: the model it was sent to)."""
    if isinstance(judgment, PairwiseJudgment):
        kind = Kind("pairwise")
        own: str | int | None = judgment.winner
    else:
        kind = Kind("single", judgment.score_range, tuple(c.name for c in judgment.criteria))
        own = judgment.overall_score
    if judgment.cascade:
        stages = tuple(
            Verdict(s.model, s.raw_confidence if s.calibrated else s.confidence, s.verdict)
            for s in judgment.cascade
        )
        return LineFacts(model, kind, stages, cascade=True)
    signal = judgment.raw_confidence if judgment.calibrated else judgment.confidence
    verdict = Verdict(model, signal, own if judgment.scored else None)
    return LineFacts(model, kind, (verdict,), cascade=False)


def judged_lines(
    raws: Iterable[bytes], wanted: Callable[[bytes], bool] | None = None
) -> Iterator[tuple[str, JSONObject | None, SingleJudgment | PairwiseJudgment | str]]:
    """Each output line of ``raws`` that is a JSON object with a custom_id: (custom_id, its response body
    or None, its judgment or why there is none). Blank lines and lines that are not JSON are skipped, as
    are lines ``wanted`` turns down before they are parsed."""
    for raw in raws:
        if wanted is not None and not wanted(raw):
            continue
        try:
            line = orjson.loads(raw) if raw.strip() else None
        except orjson.JSONDecodeError:
            continue
        if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
            continue
        response = line.get("response")
        body = response.get("body") if isinstance(response, dict) else None
        if not isinstance(body, dict):
            yield line["custom_id"], None, "no body"
            continue
        yield line["custom_id"], body, read_judgment(body.get("judgment"))


def facts_of(raws: list[bytes]) -> dict[str, LineFacts]:
    """The lines of ``raws`` that hold a readable judgment: custom_id → its facts (others are skipped:
    an error line, a line without a judgment, a line that is not JSON)."""
    return {
        custom_id: judgment_facts(str(body.get("model", "")), judgment)
        for custom_id, body, judgment in judged_lines(raws)
        if body is not None and not isinstance(judgment, str)
    }


def facts_of_text(text: bytes) -> dict[str, LineFacts]:
    """``facts_of`` over a block of whole lines (what the worker process is sent)."""
    return facts_of(text.split(b"\n"))


class Offload(Protocol):
    """Runs a pure, picklable function somewhere other than the event loop's thread."""

    def __call__(self, fn: Callable[..., R], /, *args: object) -> Awaitable[R]: ...


async def in_thread(fn: Callable[..., R], /, *args: object) -> R:
    return await asyncio.to_thread(fn, *args)


async def parse_in_blocks(
    read: Callable[[], AsyncIterator[bytes]], run: Offload, parse: Callable[[bytes], dict[str, T]]
) -> dict[str, T]:
    """A JSONL file's lines by custom_id, ``parse``d by ``run`` a block of whole lines (about
    ``BLOCK_BYTES``) at a time, so a big file is never held twice nor parsed on the event loop."""
    found: dict[str, T] = {}
    parts: list[bytes] = []
    held = 0
    async for chunk in read():
        parts.append(chunk)
        held += len(chunk)
        if held >= BLOCK_BYTES and b"\n" in chunk:
            block = b"".join(parts)
            cut = block.rfind(b"\n") + 1
            found.update(await run(parse, block[:cut]))
            parts, held = [block[cut:]], len(block) - cut
    block = b"".join(parts)
    if block.strip():
        found.update(await run(parse, block))
    return found


class LineFactsIndex:
    """Output file id → its lines' facts, parsed once (concurrent askers share one parse); an LRU of
    at most ``max_lines`` lines. The caller checks that the file is the tenant's before asking."""

    def __init__(
        self,
        offload: Offload = in_thread,
        offload_min_bytes: int = OFFLOAD_MIN_BYTES,
        max_lines: int = MAX_CACHED_LINES,
    ) -> None:
        self._offload = offload
        self._min_bytes = offload_min_bytes
        self._max_lines = max_lines
        self._cached: OrderedDict[str, dict[str, LineFacts]] = OrderedDict()
        self._parsing: dict[str, asyncio.Future[dict[str, LineFacts]]] = {}

    async def get(
        self, file_id: str, size: int, read: Callable[[], AsyncIterator[bytes]]
    ) -> dict[str, LineFacts]:
        """The facts of output file ``file_id`` (``size`` bytes, its chunks from ``read()``)."""
        cached = self._cached.get(file_id)
        if cached is not None:
            self._cached.move_to_end(file_id)
            return cached
        pending = self._parsing.get(file_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[dict[str, LineFacts]] = asyncio.get_running_loop().create_future()
        self._parsing[file_id] = future
        try:
            facts = await self._parse(size, read)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a parse nobody else waited for is not logged as lost
            raise
        finally:
            del self._parsing[file_id]
        future.set_result(facts)
        self._keep(file_id, facts)
        return facts

    async def _parse(self, size: int, read: Callable[[], AsyncIterator[bytes]]) -> dict[str, LineFacts]:
        run: Offload = self._offload if size >= self._min_bytes else in_thread
        return await parse_in_blocks(read, run, facts_of_text)

    def _keep(self, file_id: str, facts: dict[str, LineFacts]) -> None:
        if len(facts) > self._max_lines:
            return
        self._cached[file_id] = facts
        while sum(len(f) for f in self._cached.values()) > self._max_lines:
            self._cached.popitem(last=False)
