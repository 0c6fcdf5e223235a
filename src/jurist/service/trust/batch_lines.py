"""A batch's lines as a comparison of two batches reads them (``batch_compare``): custom_id → what its
judgment scored, overall and per criterion, or that it has none (errored or unscored).

Every line of the output and error files that carries a custom_id is kept: a line without a readable,
scored judgment (an error line, a request that was no judge call, an unscored verdict) is ``ERRORED``,
so it is counted, never dropped. The judgment is read as ``line_facts`` reads it (the same line walk and
``read_judgment``, the model the service writes); ``LineFacts`` itself keeps the verdict and the scale
but not the criteria's scores, which a comparison needs, so the lines are walked here with the same
parts. A large output is parsed in the worker process (``line_facts.Offload``), as labels are.

Scores kept per line, as judged:

- single: the overall score and each criterion's score on the judgment's ``score_range`` (``low``,
  ``high``); a criterion scored N/A is None;
- pairwise: response_1's result, 1 (it wins) / 0.5 (a tie) / 0 (it loses), overall from the winner and
  per criterion from the two responses' criterion scores (None when either is missing); the range is
  (0, 1)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from jurist.protocol.judgment import PairwiseJudgment, SingleJudgment
from jurist.service.trust.line_facts import (
    OFFLOAD_MIN_BYTES,
    Offload,
    in_thread,
    judged_lines,
    parse_in_blocks,
)

Mode = str  # "single" | "pairwise"


@dataclass(frozen=True, slots=True)
class ScoredLine:
    """One line's scores (``mode`` None: errored or unscored, nothing else is set)."""

    mode: Mode | None
    score: float | None = None
    low: float = 0.0
    high: float = 1.0
    criteria: tuple[tuple[str, float | None], ...] = ()

    @property
    def scored(self) -> bool:
        return self.mode is not None and self.score is not None


ERRORED = ScoredLine(None)
_WINS = {"response_1": 1.0, "tie": 0.5, "response_2": 0.0}


def _pair(one: int | None, two: int | None) -> float | None:
    if one is None or two is None:
        return None
    return 1.0 if one > two else 0.5 if one == two else 0.0


def scored_line(judgment: SingleJudgment | PairwiseJudgment) -> ScoredLine:
    """What one judgment scored (``ERRORED`` when it is unscored)."""
    if not judgment.scored:
        return ERRORED
    if isinstance(judgment, PairwiseJudgment):
        won = _WINS.get(judgment.winner) if judgment.winner is not None else None
        if won is None:
            return ERRORED
        per = tuple((c.name, _pair(c.scores.response_1, c.scores.response_2)) for c in judgment.criteria)
        return ScoredLine("pairwise", won, 0.0, 1.0, per)
    if judgment.overall_score is None:
        return ERRORED
    low, high = judgment.score_range
    criteria = tuple((c.name, None if c.score is None else float(c.score)) for c in judgment.criteria)
    return ScoredLine("single", float(judgment.overall_score), float(low), float(high), criteria)


def lines_of(raws: list[bytes]) -> dict[str, ScoredLine]:
    """Every line of ``raws`` with a custom_id: custom_id → its scores (``ERRORED`` without a readable,
    scored judgment). Blank lines and lines that are not JSON objects with a custom_id are skipped."""
    return {
        custom_id: ERRORED if isinstance(judgment, str) else scored_line(judgment)
        for custom_id, _, judgment in judged_lines(raws)
    }


def lines_of_text(text: bytes) -> dict[str, ScoredLine]:
    """``lines_of`` over a block of whole lines (what the worker process is sent)."""
    return lines_of(text.split(b"\n"))


async def read_lines(
    size: int, read: Callable[[], AsyncIterator[bytes]], offload: Offload = in_thread
) -> dict[str, ScoredLine]:
    """The lines of a file of ``size`` bytes whose chunks ``read()`` yields, parsed a block at a time:
    in the offload process when the file is large, in a thread otherwise (never on the event loop)."""
    run: Offload = offload if size >= OFFLOAD_MIN_BYTES else in_thread
    return await parse_in_blocks(read, run, lines_of_text)
