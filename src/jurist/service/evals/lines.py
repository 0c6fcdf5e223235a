"""The batch runner's side of an eval run: a line of a run's internal batch is one row to grade.

The line is graded only for the run whose batch it is in, of the batch's own tenant (a line naming
another run, in a batch a tenant made by hand, is refused). The row's output item is stored (replacing an
earlier grading of the row, so a row retried after a crash is one item), and the line's output is a
short note of it (with the judgment of a ``jurist_judge`` criterion, so the line can be labelled). A
model that is down or limited raises, and the runner tries the line again."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from jurist.errors import InvalidRequest
from jurist.ids import Clock
from jurist.protocol.json_types import JSONObject
from jurist.service.evals.grading import Grader, Sandbox
from jurist.service.evals.rows import RowGrader
from jurist.service.evals.service import row_of
from jurist.service.judging.pipeline import ChatService
from jurist.store.eval_records import EvalStore, ModelUsage, OutputItemRecord
from jurist.store.usage import UsageCounts


class UsageRecorder(Protocol):
    def record(self, tenant: str, model: str, counts: UsageCounts) -> None: ...


KEPT_RUNS = 32  # runs whose graders are kept ready


def judged(record: OutputItemRecord) -> JSONObject:
    """The first ``jurist_judge`` criterion's model and judgment, for the row's line in the run's batch:
    labels of the batch's lines (``POST /v1/batches/{id}/labels``, the console's review) then judge that
    judgment and feed its model's calibration, as for any judged batch line."""
    for result in record.body.get("results") or []:  # type: ignore[union-attr]
        sample = result.get("sample") if isinstance(result, dict) else None
        if isinstance(sample, dict) and isinstance(sample.get("judgment"), dict):
            return {"model": sample.get("model"), "judgment": sample["judgment"]}
    return {}


class EvalLines:
    def __init__(
        self,
        store: EvalStore,
        chat: ChatService,
        clock: Clock,
        sandbox: Callable[[], Sandbox | None],
        usage: UsageRecorder,
    ) -> None:
        self.store = store
        self.chat = chat
        self.clock = clock
        self._sandbox = sandbox
        self._usage = usage
        self._graders: OrderedDict[str, RowGrader] = OrderedDict()
        self._loading = asyncio.Lock()
        self._pending: list[tuple[OutputItemRecord, list[ModelUsage], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def _commit(self, record: OutputItemRecord, usage: list[ModelUsage]) -> None:
        """Store a graded row before its line is done (group commit: the rows that finish while a group is
        being written go together in the next transaction, so 32 rows at a time need a few writes, not 32)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((record, usage, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        await done

    async def _write(self) -> None:
        while self._pending:
            group, self._pending = self._pending, []
            try:
                await self.store.put_items([(record, usage) for record, usage, _ in group])
            except Exception as exc:
                for _, _, done in group:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, _, done in group:
                if not done.done():
                    done.set_result(None)

    def handles(self, body: object) -> bool:
        return row_of(body) is not None  # type: ignore[arg-type]

    async def _grader(self, tenant: str, batch_id: str, run_id: str) -> RowGrader:
        found = self._graders.get(run_id)
        if found is not None:
            self._graders.move_to_end(run_id)
            return found
        async with self._loading:  # the first rows of a run arrive together: one of them loads it
            found = self._graders.get(run_id)
            return found if found is not None else await self._load(tenant, batch_id, run_id)

    async def _load(self, tenant: str, batch_id: str, run_id: str) -> RowGrader:
        run = await self.store.run_of_batch(batch_id)
        if run is None or run.id != run_id or run.tenant != tenant:
            raise InvalidRequest(f"This line names eval run {run_id!r}, which this batch does not run.")
        record = await self.store.get_eval(tenant, run.eval_id)
        if record is None:
            raise InvalidRequest(f"The eval of run {run_id!r} was deleted.")
        source = run.body.get("data_source")
        assert isinstance(source, dict)  # stored checked
        own = run.body.get("testing_criteria")  # a head-to-head run's own criterion
        grader = RowGrader(
            Grader(self.chat, tenant, self._sandbox()),
            record.body,
            source,
            own if isinstance(own, list) else None,
        )
        self._graders[run_id] = grader
        while len(self._graders) > KEPT_RUNS:
            self._graders.popitem(last=False)
        return grader

    async def grade_line(self, tenant: str, batch_id: str, body: object) -> tuple[JSONObject, UsageCounts]:
        """Grade the line's row and store its output item; the line's output body, and its usage."""
        found = row_of(body)  # type: ignore[arg-type]
        assert found is not None  # ``handles`` said so
        run_id, index, data = found
        grader = await self._grader(tenant, batch_id, run_id)
        outcome = await grader.grade(tenant, run_id, index, data, int(self.clock.now()))
        await self._commit(outcome.record, outcome.usage)
        record = outcome.record
        note: JSONObject = {"object": "eval.run.output_item", "id": record.id, "status": record.status}
        note |= judged(record)
        for used in outcome.usage:  # each model's own usage; the runner counts the line for its lane's
            hit = int(used.invocations == 0)
            counts = UsageCounts(0, used.invocations, used.prompt_tokens, used.completion_tokens, hit)
            self._usage.record(tenant, used.model, counts)
        return note, UsageCounts()
