"""The evals store on SQLite and PostgreSQL (``SqlEvalStore``): the records and the protocol are in
``store.eval_records``."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Sequence

import orjson

from jurist.protocol.json_types import JSONObject
from jurist.store.database import Database, Row
from jurist.store.eval_records import (
    EvalRecord,
    EvalRunRecord,
    GradedRows,
    ModelUsage,
    Order,
    OutputItemRecord,
    RunCounts,
)
from jurist.store.records import Page


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def _eval(row: Row) -> EvalRecord:
    body = orjson.loads(row["body"])
    return EvalRecord(
        row["id"], row["tenant"], row["name"], body, int(row["created_at"]), int(row["updated_at"])
    )


def _run(row: Row) -> EvalRunRecord:
    error = orjson.loads(row["error"]) if row["error"] else None
    return EvalRunRecord(
        row["id"], row["tenant"], row["eval_id"], row["name"], row["status"], orjson.loads(row["body"]),
        int(row["created_at"]), int(row["updated_at"]), row["batch_id"], error, row["content"],
    )  # fmt: skip


def _scores(text: str) -> tuple[float | None, ...]:
    return tuple(None if s is None else float(s) for s in orjson.loads(text))


def _item(row: Row) -> OutputItemRecord:
    return OutputItemRecord(
        row["id"], row["tenant"], row["run_id"], int(row["item_index"]), row["status"], row["verdicts"],
        orjson.loads(row["body"]), int(row["created_at"]), row["item_key"], _scores(row["scores"]),
    )  # fmt: skip


def _columns(text: str) -> GradedRows:
    """A run's graded rows from their aggregated text (the cyclic garbage collector paused meanwhile: these
    are 500,000 new objects, none in a cycle, and its passes over them cost more than the parsing)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        lines = [line.split("|", 4) for line in text.split("\n")]
        indexes, statuses, verdicts, scores, keys = zip(*lines, strict=True)
        parsed = orjson.loads("[" + ",".join(scores) + "]")
        return GradedRows([int(i) for i in indexes], list(keys), list(statuses), list(verdicts), parsed)
    finally:
        if paused:
            gc.enable()


def _after(table: str, key: str, order: Order, scope: str) -> str:
    """The keyset condition of a page after the object ``:after`` (an id not in scope: an empty page,
    so a client paging on never loops)."""
    op = ">" if order == "asc" else "<"
    return f" AND {key} {op} (SELECT {key} FROM {table} WHERE id = :after AND {scope})"


_ADD_USAGE = (
    "INSERT INTO eval_run_usage (run_id, model, invocations, prompt_tokens, completion_tokens, cached_tokens)"
    " VALUES (:r, :m, :n, :p, :o, :c) ON CONFLICT (run_id, model) DO UPDATE SET"
    " invocations = eval_run_usage.invocations + excluded.invocations,"
    " prompt_tokens = eval_run_usage.prompt_tokens + excluded.prompt_tokens,"
    " completion_tokens = eval_run_usage.completion_tokens + excluded.completion_tokens,"
    " cached_tokens = eval_run_usage.cached_tokens + excluded.cached_tokens"
)


def _usage(row: Row) -> ModelUsage:
    counts = (int(row[k]) for k in ("invocations", "prompt_tokens", "completion_tokens", "cached_tokens"))
    return ModelUsage(row["model"], *counts)


_PUT_ITEM = (
    "INSERT INTO eval_output_items (id, tenant, run_id, item_index, item_key, status, verdicts, scores, body,"
    " created_at) VALUES (:id, :t, :r, :i, :k, :s, :v, :sc, :b, :c)"
    " ON CONFLICT (run_id, item_index) DO UPDATE SET id = excluded.id, item_key = excluded.item_key,"
    " status = excluded.status, verdicts = excluded.verdicts, scores = excluded.scores, body = excluded.body,"
    " created_at = excluded.created_at"
)
_RUN_HEAD = "id, tenant, eval_id, name, status, batch_id, body, error, created_at, updated_at"


class SqlEvalStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_eval(self, record: EvalRecord) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO evals (id, tenant, name, body, created_at, updated_at)"
                " VALUES (:id, :t, :n, :b, :c, :u)",
                {"id": record.id, "t": record.tenant, "n": record.name, "b": _json(record.body),
                 "c": record.created_at, "u": record.updated_at},
            )  # fmt: skip

    async def get_eval(self, tenant: str, eval_id: str) -> EvalRecord | None:
        async with self._db.read() as tx:
            row = await tx.fetchone(
                "SELECT * FROM evals WHERE id = :id AND tenant = :t", {"id": eval_id, "t": tenant}
            )
        return None if row is None else _eval(row)

    async def update_eval(self, tenant: str, eval_id: str, name: str, body: JSONObject, now: int) -> bool:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE evals SET name = :n, body = :b, updated_at = :u WHERE id = :id AND tenant = :t",
                {"n": name, "b": _json(body), "u": now, "id": eval_id, "t": tenant},
            )
        return changed > 0

    async def delete_eval(self, tenant: str, eval_id: str) -> bool:
        key = {"id": eval_id, "t": tenant}
        runs = "SELECT id FROM eval_runs WHERE eval_id = :id AND tenant = :t"
        async with self._db.transaction() as tx:
            await tx.execute(f"DELETE FROM eval_output_items WHERE tenant = :t AND run_id IN ({runs})", key)
            await tx.execute(f"DELETE FROM eval_run_usage WHERE run_id IN ({runs})", key)
            await tx.execute("DELETE FROM eval_runs WHERE eval_id = :id AND tenant = :t", key)
            deleted = await tx.execute("DELETE FROM evals WHERE id = :id AND tenant = :t", key)
        return deleted > 0

    async def list_evals(
        self, tenant: str, after: str | None, limit: int, order: Order, by_updated: bool
    ) -> Page[EvalRecord]:
        key = "updated_at" if by_updated else "seq"
        where, params = "tenant = :t", {"t": tenant, "n": limit + 1, "after": after}
        if after:
            if by_updated:  # updated_at ties are broken by seq
                op = ">" if order == "asc" else "<"
                mark = "(SELECT {c} FROM evals WHERE id = :after AND tenant = :t)"
                where += (
                    f" AND (updated_at {op} {mark.format(c='updated_at')} OR (updated_at = "
                    f"{mark.format(c='updated_at')} AND seq {op} {mark.format(c='seq')}))"
                )
            else:
                where += _after("evals", "seq", order, "tenant = :t")
        direction = "ASC" if order == "asc" else "DESC"
        async with self._db.read() as tx:
            rows = await tx.fetchall(
                f"SELECT * FROM evals WHERE {where} ORDER BY {key} {direction}, seq {direction} LIMIT :n",
                params,
            )
        return Page([_eval(r) for r in rows[:limit]], len(rows) > limit)

    async def add_run(self, record: EvalRunRecord) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO eval_runs (id, tenant, eval_id, name, status, batch_id, body, content, error,"
                " created_at, updated_at) VALUES (:id, :t, :e, :n, :s, :bid, :b, :content, :err, :c, :u)",
                {"id": record.id, "t": record.tenant, "e": record.eval_id, "n": record.name,
                 "s": record.status, "bid": record.batch_id, "b": _json(record.body),
                 "content": record.content,
                 "err": None if record.error is None else _json(record.error), "c": record.created_at,
                 "u": record.updated_at},
            )  # fmt: skip

    async def get_run(self, tenant: str, eval_id: str, run_id: str) -> EvalRunRecord | None:
        async with self._db.read() as tx:
            row = await tx.fetchone(
                "SELECT * FROM eval_runs WHERE id = :id AND eval_id = :e AND tenant = :t",
                {"id": run_id, "e": eval_id, "t": tenant},
            )
        return None if row is None else _run(row)

    async def run_of_batch(self, batch_id: str) -> EvalRunRecord | None:
        async with self._db.read() as tx:
            row = await tx.fetchone(
                f"SELECT {_RUN_HEAD}, NULL AS content FROM eval_runs WHERE batch_id = :b", {"b": batch_id}
            )
        return None if row is None else _run(row)

    async def set_run(
        self, tenant: str, run_id: str, now: int, *, status: str | None = None, batch_id: str | None = None,
        error: JSONObject | None = None, only_from: tuple[str, ...] = (),
    ) -> bool:  # fmt: skip
        sets, params = ["updated_at = :u"], {"u": now, "id": run_id, "t": tenant}
        for column, value in (("status", status), ("batch_id", batch_id)):
            if value is not None:
                sets.append(f"{column} = :{column}")
                params[column] = value
        if error is not None:
            sets.append("error = :error")
            params["error"] = _json(error)
        where = "id = :id AND tenant = :t"
        if only_from:
            where += " AND status IN (" + ", ".join(f":f{i}" for i in range(len(only_from))) + ")"
            params |= {f"f{i}": s for i, s in enumerate(only_from)}
        async with self._db.transaction() as tx:
            changed = await tx.execute(f"UPDATE eval_runs SET {', '.join(sets)} WHERE {where}", params)
        return changed > 0

    async def list_runs(
        self, tenant: str, eval_id: str, after: str | None, limit: int, order: Order, status: str | None
    ) -> Page[EvalRunRecord]:
        scope = "tenant = :t AND eval_id = :e"
        where, params = scope, {"t": tenant, "e": eval_id, "n": limit + 1, "after": after, "s": status}
        if status:
            where += " AND status = :s"
        if after:
            where += _after("eval_runs", "seq", order, scope)
        direction = "ASC" if order == "asc" else "DESC"
        async with self._db.read() as tx:
            rows = await tx.fetchall(
                f"SELECT * FROM eval_runs WHERE {where} ORDER BY seq {direction} LIMIT :n", params
            )
        return Page([_run(r) for r in rows[:limit]], len(rows) > limit)

    async def delete_run(self, tenant: str, eval_id: str, run_id: str) -> bool:
        key = {"id": run_id, "e": eval_id, "t": tenant}
        async with self._db.transaction() as tx:
            deleted = await tx.execute(
                "DELETE FROM eval_runs WHERE id = :id AND eval_id = :e AND tenant = :t", key
            )
            if deleted:
                await tx.execute("DELETE FROM eval_output_items WHERE run_id = :id AND tenant = :t", key)
                await tx.execute("DELETE FROM eval_run_usage WHERE run_id = :id", key)
        return deleted > 0

    async def put_items(self, graded: Sequence[tuple[OutputItemRecord, Sequence[ModelUsage]]]) -> None:
        items = [
            {"id": r.id, "t": r.tenant, "r": r.run_id, "i": r.index, "k": r.item_key, "s": r.status,
             "v": r.verdicts, "sc": _json(list(r.scores)), "b": _json(r.body), "c": r.created_at}
            for r, _ in graded
        ]  # fmt: skip
        totals: dict[tuple[str, str], list[int]] = {}
        for record, usage in graded:
            for used in usage:
                counts = (used.invocations, used.prompt_tokens, used.completion_tokens, used.cached_tokens)
                total = totals.setdefault((record.run_id, used.model), [0, 0, 0, 0])
                total[:] = [a + b for a, b in zip(total, counts, strict=True)]
        adds = [{"r": r, "m": m, "n": n, "p": p, "o": o, "c": c} for (r, m), (n, p, o, c) in totals.items()]
        async with self._db.transaction() as tx:
            await tx.executemany(_PUT_ITEM, items)
            if adds:
                await tx.executemany(_ADD_USAGE, adds)

    async def get_item(self, tenant: str, run_id: str, item_id: str) -> OutputItemRecord | None:
        async with self._db.read() as tx:
            row = await tx.fetchone(
                "SELECT * FROM eval_output_items WHERE id = :id AND run_id = :r AND tenant = :t",
                {"id": item_id, "r": run_id, "t": tenant},
            )
        return None if row is None else _item(row)

    async def list_items(
        self, tenant: str, run_id: str, after: str | None, limit: int, order: Order, status: str | None
    ) -> Page[OutputItemRecord]:
        scope = "tenant = :t AND run_id = :r"
        where, params = scope, {"t": tenant, "r": run_id, "n": limit + 1, "after": after, "s": status}
        if status:
            where += " AND status = :s"
        if after:
            where += _after("eval_output_items", "item_index", order, scope)
        direction = "ASC" if order == "asc" else "DESC"
        async with self._db.read() as tx:
            rows = await tx.fetchall(
                f"SELECT * FROM eval_output_items WHERE {where} ORDER BY item_index {direction} LIMIT :n",
                params,
            )
        return Page([_item(r) for r in rows[:limit]], len(rows) > limit)

    async def counts(self, run_id: str) -> RunCounts:
        async with self._db.read() as tx:
            rows = await tx.fetchall(
                "SELECT status, verdicts, COUNT(*) AS n FROM eval_output_items WHERE run_id = :r"
                " GROUP BY status, verdicts",
                {"r": run_id},
            )
        counts = RunCounts()
        for row in rows:
            n = int(row["n"])
            counts.statuses[row["status"]] = counts.statuses.get(row["status"], 0) + n
            counts.verdicts[row["verdicts"]] = counts.verdicts.get(row["verdicts"], 0) + n
        return counts

    async def graded_rows(self, tenant: str, run_id: str) -> GradedRows:
        """Read as one text aggregated by the database (a row per item would cost 100,000 row objects)."""
        # the key last: it is free text to the split below (ours are hex digests; the others hold no "|")
        fields = "item_index || '|' || status || '|' || verdicts || '|' || scores || '|' || item_key"
        where = "tenant = :t AND run_id = :r"
        if self._db.dialect == "postgresql":
            sql = (
                f"SELECT string_agg({fields}, chr(10) ORDER BY item_index) AS rows FROM eval_output_items"
                f" WHERE {where}"
            )
        else:  # SQLite concatenates a subquery's rows in its order
            sql = (
                f"SELECT group_concat(line, char(10)) AS rows FROM (SELECT {fields} AS line"
                f" FROM eval_output_items WHERE {where} ORDER BY item_index)"
            )
        async with self._db.read() as tx:
            row = await tx.fetchone(sql, {"t": tenant, "r": run_id})
        text = row["rows"] if row is not None else None
        if not text:
            return GradedRows([], [], [], [], [])
        return await asyncio.to_thread(_columns, text)

    async def usage(self, run_id: str) -> list[ModelUsage]:
        async with self._db.read() as tx:
            rows = await tx.fetchall(
                "SELECT * FROM eval_run_usage WHERE run_id = :r ORDER BY model", {"r": run_id}
            )
        return [_usage(r) for r in rows]
