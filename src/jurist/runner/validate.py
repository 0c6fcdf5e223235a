"""A batch's validation step: read its input file, check every line, queue the valid ones (those the
judge cache already answers are finished at once, into the output spool), and start the batch, or fail
it with the lines' errors (or the account's queued-lines limit) and queue nothing."""

from __future__ import annotations

from jurist.ids import Clock, new_ids
from jurist.runner.execute import output_line_bytes
from jurist.runner.lines import LineValidator, ValidLine
from jurist.runner.ports import RunnerEvents, UsageSink
from jurist.runner.spool import SpoolWriter
from jurist.service.judging.pipeline import ChatService
from jurist.service.tenancy.limits import BatchLimits
from jurist.store.batch_tasks import BatchTasks
from jurist.store.blobs import BlobStore, split_lines
from jurist.store.files import FileStore
from jurist.store.records import BatchRecord
from jurist.store.usage import UsageCounts

_INSERT_CHUNK = 1000


class BatchValidation:
    """Validates batches for the task holder ``owner``."""

    def __init__(
        self,
        files: FileStore,
        tasks: BatchTasks,
        blobs: BlobStore,
        chat: ChatService,
        max_lines: int,
        clock: Clock,
        events: RunnerEvents,
        usage: UsageSink,
        queue_limits: BatchLimits | None,
        owner: str,
    ) -> None:
        self.files = files
        self.tasks = tasks
        self.blobs = blobs
        self.chat = chat
        self.max_lines = max_lines
        self.clock = clock
        self.events = events
        self.usage = usage
        self.queue_limits = queue_limits  # an account's queued lines, checked once the file is valid
        self.owner = owner

    async def run(self, batch: BatchRecord) -> list[str] | None:
        """Validate ``batch``: the models its queued lines use once it has started, None if it failed."""
        now = int(self.clock.now())
        await self.tasks.clear_lines(batch.id)
        source = await self.files.get(batch.tenant, batch.input_file_id)
        if source is None:
            error = {"code": "invalid_request", "message": "The input file no longer exists.",
                     "param": "input_file_id", "line": None}  # fmt: skip
            await self.tasks.fail(batch.id, self.owner, [error], now)
            return None
        validator = LineValidator(batch.endpoint, frozenset(self.chat.models), self.max_lines)
        spool = SpoolWriter(self.blobs, batch.id)
        cached: dict[str, int] = {}  # lines answered from the judge cache, by model
        await spool.open()
        try:
            buffer = []
            number = 0
            async for raw in split_lines(self.blobs.read(source.id)):
                number += 1
                line = validator.check(number, raw)
                if line is not None and not validator.errors:
                    buffer.append(line)
                    if len(buffer) >= _INSERT_CHUNK:
                        await self._queue(batch, buffer, spool, cached)
                        buffer = []
            errors = validator.finish()
            if not errors and self.queue_limits is not None:
                refused = await self.queue_limits.check_queue(batch.tenant, validator.count)
                errors = [refused] if refused else errors
            if errors:
                await spool.discard()
                await self.tasks.fail(batch.id, self.owner, errors, int(self.clock.now()))
                return None
            if buffer:
                await self._queue(batch, buffer, spool, cached)
            await spool.commit()
        except BaseException:
            await spool.discard()
            raise
        model = ",".join(validator.used_models)
        await self.tasks.start(batch.id, self.owner, validator.count, model, int(self.clock.now()))
        for name, n in cached.items():  # counted once the batch has started with them
            self.usage.record(batch.tenant, name, UsageCounts(cache_hits=n, batch_lines=n))
        return validator.used_models

    async def _queue(
        self, batch: BatchRecord, lines: list[ValidLine], spool: SpoolWriter, cached: dict[str, int]
    ) -> None:
        """Queue validated lines. Those the judge cache already answers are finished here, with no
        claim, no call and no row: their output lines go to the spool and only their counts are stored
        (and added to ``cached``, by model). Only the batch's tenant's cache answers them."""
        batch_id = batch.id
        keys = {}
        for line in lines:
            key = self.chat.cache_key_for(line.body, batch.tenant)
            if key is not None:
                keys[line.line] = key
        hits = await self.chat.cached(sorted(set(keys.values())))
        if not hits:
            await self.tasks.add_lines(batch_id, [line.queued() for line in lines])
            return
        left = []
        by_model: dict[str, int] = {}
        tokens_in = tokens_out = 0
        ids = iter(new_ids("", 2 * len(lines)))
        for line in lines:
            body = hits.get(keys.get(line.line, ""))
            if body is None:
                left.append(line.queued())
                continue
            by_model[line.model] = by_model.get(line.model, 0) + 1
            tokens_in += body.prompt_tokens
            tokens_out += body.completion_tokens
            rid, line_id = "req_" + next(ids), "batch_req_" + next(ids)
            await spool.add(line.line, output_line_bytes(line_id, line.custom_id, rid, 200, body.json))
        await self.tasks.add_lines(batch_id, left, (sum(by_model.values()), tokens_in, tokens_out))
        for model, n in by_model.items():
            self.events.line_finished(model, True, n)
            cached[model] = cached.get(model, 0) + n
