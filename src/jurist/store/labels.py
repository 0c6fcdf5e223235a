"""Human labels of a batch's lines: one row per (batch, custom_id, annotator), per tenant. The label is
stored as JSON text: "1" | "2" | "tie" for a pairwise line, an integer score for a single one, and a
single line's label with per-criterion scores as ``{"overall": 4, "criteria": {"Accuracy": 4, ...}}``
(so rows written before criteria existed read back unchanged)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson

from jurist.protocol.json_types import JsonValue
from jurist.store.database import Database, Row


@dataclass(frozen=True)
class LabelRecord:
    tenant: str
    batch_id: str
    custom_id: str
    annotator: str
    label: JsonValue
    note: str | None
    created_at: int
    criteria: Mapping[str, int | None] | None = None  # a single line's criterion → score (None: N/A)


class LabelStore(Protocol):
    async def put(self, records: Sequence[LabelRecord]) -> None:
        """Insert the labels in one transaction; a label for the same (batch, custom_id, annotator)
        replaces the one stored."""
        ...

    async def list(self, tenant: str, batch_id: str) -> list[LabelRecord]:
        """The batch's labels, by custom_id then annotator."""
        ...

    async def delete(self, tenant: str, batch_id: str, custom_id: str, annotator: str) -> bool:
        """Whether a label was deleted."""
        ...

    async def tallies(self, tenant: str, batch_id: str) -> dict[str, Counter[str | int]]:
        """custom_id → how many annotators gave each overall label (criteria aside), counted by the
        database: a refit of 100,000 labels reads one row per line and label, not one per label."""
        ...


def _encode(record: LabelRecord) -> str:
    if record.criteria is None:
        return orjson.dumps(record.label).decode()
    return orjson.dumps({"overall": record.label, "criteria": dict(record.criteria)}).decode()


def _criteria(value: JsonValue) -> dict[str, int | None] | None:
    if not isinstance(value, dict):
        return None
    return {k: v for k, v in value.items() if v is None or (isinstance(v, int) and not isinstance(v, bool))}


def _from_row(row: Row) -> LabelRecord:
    stored: JsonValue = orjson.loads(row["label"])
    label, criteria = stored, None
    if isinstance(stored, dict) and "overall" in stored:
        label, criteria = stored["overall"], _criteria(stored.get("criteria"))
    return LabelRecord(
        row["tenant"], row["batch_id"], row["custom_id"], row["annotator"], label, row["note"],
        int(row["created_at"]), criteria,
    )  # fmt: skip


_KEY = "batch_id = :b AND custom_id = :c AND annotator = :a AND tenant = :t"
CHUNK = 1000  # rows per executemany
# a later label of the same (batch, line, annotator) replaces the earlier; never across tenants
_UPSERT = (
    "INSERT INTO batch_labels (tenant, batch_id, custom_id, annotator, label, note, created_at)"
    " VALUES (:t, :b, :c, :a, :l, :n, :at)"
    " ON CONFLICT (batch_id, custom_id, annotator) DO UPDATE SET label = excluded.label,"
    " note = excluded.note, created_at = excluded.created_at WHERE batch_labels.tenant = excluded.tenant"
)


_UPSERT_ARRAYS = (  # PostgreSQL: a chunk in one statement, each column an array
    "INSERT INTO batch_labels (tenant, batch_id, custom_id, annotator, label, note, created_at)"
    " SELECT * FROM unnest(CAST(:t AS text[]), CAST(:b AS text[]), CAST(:c AS text[]), CAST(:a AS text[]),"
    " CAST(:l AS text[]), CAST(:n AS text[]), CAST(:at AS bigint[]))"
    + _UPSERT[_UPSERT.index(" ON CONFLICT") :]
)


TALLY_PAGE = 5000
_TALLY_PAGE = (
    "SELECT custom_id, label, COUNT(*) AS n FROM batch_labels WHERE tenant = :t AND batch_id = :b"
    " AND (custom_id > :c OR (custom_id = :c AND label > :l))"
    f" GROUP BY custom_id, label ORDER BY custom_id, label LIMIT {TALLY_PAGE}"
)


class SqlLabelStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, records: Sequence[LabelRecord]) -> None:
        """One transaction of bulk upserts in chunks of ``CHUNK`` rows (on PostgreSQL one statement
        per chunk, its columns sent as arrays; on SQLite ``executemany``). The rows are encoded before
        it begins, a chunk at a time with other requests running between chunks, so the write lock
        is never held across per-row Python work. Of two rows with the same key, the later wins."""
        rows: dict[tuple[str, str, str, str], dict[str, object]] = {}
        for start in range(0, len(records), CHUNK):
            if start:
                await asyncio.sleep(0)
            for r in records[start : start + CHUNK]:
                rows[(r.tenant, r.batch_id, r.custom_id, r.annotator)] = {
                    "t": r.tenant, "b": r.batch_id, "c": r.custom_id, "a": r.annotator, "l": _encode(r),
                    "n": r.note, "at": r.created_at,
                }  # fmt: skip
        listed = list(rows.values())
        columns = ("t", "b", "c", "a", "l", "n", "at")
        async with self._db.transaction() as tx:
            for start in range(0, len(listed), CHUNK):
                chunk = listed[start : start + CHUNK]
                if self._db.dialect == "postgresql":
                    await tx.execute(_UPSERT_ARRAYS, {k: [row[k] for row in chunk] for k in columns})
                else:
                    await tx.executemany(_UPSERT, chunk)

    async def list(self, tenant: str, batch_id: str) -> list[LabelRecord]:
        async with self._db.read() as tx:
            rows = await tx.fetchall(
                "SELECT * FROM batch_labels WHERE tenant = :t AND batch_id = :b"
                " ORDER BY custom_id, annotator",
                {"t": tenant, "b": batch_id},
            )
        return [_from_row(r) for r in rows]

    async def delete(self, tenant: str, batch_id: str, custom_id: str, annotator: str) -> bool:
        key = {"b": batch_id, "c": custom_id, "a": annotator, "t": tenant}
        async with self._db.transaction() as tx:
            row = await tx.fetchone(f"SELECT custom_id FROM batch_labels WHERE {_KEY}", key)
            if row is None:
                return False
            await tx.execute(f"DELETE FROM batch_labels WHERE {_KEY}", key)
        return True

    async def tallies(self, tenant: str, batch_id: str) -> dict[str, Counter[str | int]]:
        """Read a page of ``TALLY_PAGE`` rows at a time (keyset on custom_id, label): a batch of 20,000
        labelled lines is never turned into rows in one stretch of the event loop."""
        found: dict[str, Counter[str | int]] = {}
        after: dict[str, object] = {"t": tenant, "b": batch_id, "c": "", "l": ""}
        while True:
            async with self._db.read() as tx:
                rows = await tx.fetchall(_TALLY_PAGE, after)
            for row in rows:
                stored: JsonValue = orjson.loads(row["label"])
                overall = stored.get("overall") if isinstance(stored, dict) else stored
                if isinstance(overall, str | int) and not isinstance(overall, bool):
                    found.setdefault(row["custom_id"], Counter())[overall] += int(row["n"])
            if len(rows) < TALLY_PAGE:
                return found
            after = {**after, "c": rows[-1]["custom_id"], "l": rows[-1]["label"]}
            await asyncio.sleep(0)
