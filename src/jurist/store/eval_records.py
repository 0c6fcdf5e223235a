"""Evals, their runs and the runs' output items (the OpenAI Evals API), per tenant: the records and the
store's protocol (``store.evals`` holds its SQL).

An eval keeps its stored form (``data_source_config``, ``testing_criteria``, ``metadata``) as JSON. A run
keeps its request's normalised form and the internal batch that executes it. An output item is one
graded dataset row, unique per (run, row index): a row graded again after a crash replaces its item, so
a run holds exactly one item per row. ``verdicts`` has one character per testing criterion (``P`` pass,
``F`` fail, ``E`` error), so per-criterion counts are a GROUP BY. A run's model usage is kept per model,
added to as its items are graded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from jurist.protocol.json_types import JSONObject
from jurist.store.records import Page

Order = Literal["asc", "desc"]


@dataclass(frozen=True)
class EvalRecord:
    id: str
    tenant: str
    name: str
    body: JSONObject  # data_source_config (stored form), testing_criteria, metadata
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class EvalRunRecord:
    id: str
    tenant: str
    eval_id: str
    name: str
    status: str  # queued | in_progress | completed | failed | canceled
    body: JSONObject  # data_source, model, metadata, digests
    created_at: int
    updated_at: int
    batch_id: str | None = None
    error: JSONObject | None = None
    content: str | None = None  # a file_content source's rows, as JSON text (kept apart: never parsed here)


@dataclass(frozen=True)
class OutputItemRecord:
    id: str
    tenant: str
    run_id: str
    index: int  # the row's 0-based index in the run's data
    status: str  # pass | fail | error
    verdicts: str  # one of P, F, E per testing criterion
    body: JSONObject  # datasource_item, results, sample
    created_at: int
    item_key: str = ""  # a digest of the row's item: rows of two runs are paired by it
    scores: tuple[float | None, ...] = ()  # each criterion's score (None: it errored)


@dataclass(frozen=True)
class GradedRows:
    """What a comparison reads of a run's output items, by column, in row order (bodies not parsed)."""

    indexes: list[int]
    keys: list[str]
    statuses: list[str]
    verdicts: list[str]
    scores: list[list[float | None]]


@dataclass(frozen=True)
class ModelUsage:
    model: str
    invocations: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0


@dataclass(frozen=True)
class RunCounts:
    statuses: dict[str, int] = field(default_factory=dict)  # pass / fail / error → items
    verdicts: dict[str, int] = field(default_factory=dict)  # a verdicts string → items


class EvalStore(Protocol):
    async def add_eval(self, record: EvalRecord) -> None: ...

    async def get_eval(self, tenant: str, eval_id: str) -> EvalRecord | None: ...

    async def update_eval(self, tenant: str, eval_id: str, name: str, body: JSONObject, now: int) -> bool: ...

    async def delete_eval(self, tenant: str, eval_id: str) -> bool:
        """Delete the eval with its runs, their output items and usage."""
        ...

    async def list_evals(
        self, tenant: str, after: str | None, limit: int, order: Order, by_updated: bool
    ) -> Page[EvalRecord]: ...

    async def add_run(self, record: EvalRunRecord) -> None: ...

    async def get_run(self, tenant: str, eval_id: str, run_id: str) -> EvalRunRecord | None: ...

    async def run_of_batch(self, batch_id: str) -> EvalRunRecord | None: ...

    async def set_run(
        self,
        tenant: str,
        run_id: str,
        now: int,
        *,
        status: str | None = None,
        batch_id: str | None = None,
        error: JSONObject | None = None,
        only_from: tuple[str, ...] = (),
    ) -> bool:
        """Change a run's status / batch / error; with ``only_from``, only when its status is one of
        those (whether it changed)."""
        ...  # fmt: skip

    async def list_runs(
        self, tenant: str, eval_id: str, after: str | None, limit: int, order: Order, status: str | None
    ) -> Page[EvalRunRecord]: ...

    async def delete_run(self, tenant: str, eval_id: str, run_id: str) -> bool: ...

    async def put_items(self, graded: Sequence[tuple[OutputItemRecord, Sequence[ModelUsage]]]) -> None:
        """Store graded rows in one transaction (each replacing an earlier grading of its row) and add
        their model usage."""
        ...

    async def get_item(self, tenant: str, run_id: str, item_id: str) -> OutputItemRecord | None: ...

    async def list_items(
        self, tenant: str, run_id: str, after: str | None, limit: int, order: Order, status: str | None
    ) -> Page[OutputItemRecord]: ...

    async def counts(self, run_id: str) -> RunCounts: ...

    async def graded_rows(self, tenant: str, run_id: str) -> GradedRows:
        """Every output item of the run, in row order, as a comparison needs it."""
        ...

    async def usage(self, run_id: str) -> list[ModelUsage]: ...
