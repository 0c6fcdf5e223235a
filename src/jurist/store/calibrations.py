"""Calibrations: a calibrator fitted on a tenant's labelled lines for one (model, mode), versioned.

A row keeps the calibrator (``evaluation.calibration.Calibrator.as_dict``), the labelled points it was
fitted on (``[raw signal, agreed]`` pairs: thresholds for an agreement target are chosen on them at
request time) and the batches they came from, and how many of the points are undecided (labelled lines
whose verdict was unscored, fitted at the lowest confidence; 0 in rows of older fits, which left such
lines out). Versions count up per (tenant, model, mode); the newest is the one in use. Rows are never
updated: a new fit is a new version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import orjson

from jurist.errors import Conflict
from jurist.protocol.json_types import JsonValue
from jurist.store.database import Database, Row


@dataclass(frozen=True)
class CalibrationRecord:
    id: str
    tenant: str
    model: str
    mode: str
    version: int
    source: str  # "request" (POST /v1/calibrations) | "labels" (refitted when a batch got labels)
    batches: tuple[str, ...]
    calibrator: dict[str, JsonValue]
    points: tuple[tuple[float, bool], ...]
    created_at: int
    undecided: int = 0  # of the points: unscored labelled verdicts, at the lowest confidence


@dataclass(frozen=True)
class CalibrationHead:
    """What names the newest calibration of a (tenant, model, mode), without its points."""

    id: str
    version: int
    batches: tuple[str, ...]


class CalibrationStore(Protocol):
    async def add(self, record: CalibrationRecord) -> CalibrationRecord:
        """Store a new calibration as the next version of its (tenant, model, mode); ``record.version``
        is ignored and the stored record, with its version, is returned."""
        ...

    async def latest(self, tenant: str, model: str, mode: str) -> CalibrationRecord | None: ...

    async def head(self, tenant: str, model: str, mode: str) -> CalibrationHead | None:
        """The newest calibration's id, version and batches: a cheap check of whether a cached one is
        still the newest (its points, which can be 100,000, are not read)."""
        ...

    async def get(self, tenant: str, calibration_id: str) -> CalibrationRecord | None: ...

    async def list(self, tenant: str, model: str | None = None) -> list[CalibrationRecord]:
        """The tenant's calibrations, newest first."""
        ...


def _from_row(row: Row) -> CalibrationRecord:
    points = orjson.loads(row["points"])
    return CalibrationRecord(
        id=row["id"],
        tenant=row["tenant"],
        model=row["model"],
        mode=row["mode"],
        version=int(row["version"]),
        source=row["source"],
        batches=tuple(orjson.loads(row["batches"])),
        calibrator=orjson.loads(row["calibrator"]),
        points=tuple((float(s), bool(a)) for s, a in points),
        created_at=int(row["created_at"]),
        undecided=int(row["undecided"]),
    )


_ADD_TRIES = 5


class SqlCalibrationStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, record: CalibrationRecord) -> CalibrationRecord:
        key = {"t": record.tenant, "m": record.model, "o": record.mode}
        for _ in range(_ADD_TRIES):  # two fits at once: the later one takes the next version
            try:
                async with self._db.transaction() as tx:
                    row = await tx.fetchone(
                        "SELECT MAX(version) AS v FROM calibrations"
                        " WHERE tenant = :t AND model = :m AND mode = :o",
                        key,
                    )
                    version = int(row["v"] or 0) + 1 if row is not None else 1
                    await tx.execute(
                        "INSERT INTO calibrations (id, tenant, model, mode, version, source, batches,"
                        " calibrator, points, created_at, undecided)"
                        " VALUES (:id, :t, :m, :o, :v, :s, :b, :c, :p, :at, :u)",
                        {
                            **key,
                            "id": record.id,
                            "v": version,
                            "s": record.source,
                            "b": orjson.dumps(list(record.batches)).decode(),
                            "c": orjson.dumps(record.calibrator).decode(),
                            "p": orjson.dumps([[s, a] for s, a in record.points]).decode(),
                            "at": record.created_at,
                            "u": record.undecided,
                        },
                    )
            except Conflict:
                continue
            return CalibrationRecord(**{**record.__dict__, "version": version})
        raise Conflict(f"could not store a new calibration of {record.model}/{record.mode}")

    async def latest(self, tenant: str, model: str, mode: str) -> CalibrationRecord | None:
        async with self._db.read() as tx:
            row = await tx.fetchone(
                "SELECT * FROM calibrations WHERE tenant = :t AND model = :m AND mode = :o"
                " ORDER BY version DESC LIMIT 1",
                {"t": tenant, "m": model, "o": mode},
            )
        return None if row is None else _from_row(row)

    async def head(self, tenant: str, model: str, mode: str) -> CalibrationHead | None:
        async with self._db.read() as tx:
            row = await tx.fetchone(
                "SELECT id, version, batches FROM calibrations WHERE tenant = :t AND model = :m AND mode = :o"
                " ORDER BY version DESC LIMIT 1",
                {"t": tenant, "m": model, "o": mode},
            )
        if row is None:
            return None
        return CalibrationHead(row["id"], int(row["version"]), tuple(orjson.loads(row["batches"])))

    async def get(self, tenant: str, calibration_id: str) -> CalibrationRecord | None:
        async with self._db.read() as tx:
            row = await tx.fetchone(
                "SELECT * FROM calibrations WHERE tenant = :t AND id = :id",
                {"t": tenant, "id": calibration_id},
            )
        return None if row is None else _from_row(row)

    async def list(self, tenant: str, model: str | None = None) -> list[CalibrationRecord]:
        where = "tenant = :t" + ("" if model is None else " AND model = :m")
        async with self._db.read() as tx:
            rows = await tx.fetchall(
                f"SELECT * FROM calibrations WHERE {where}"
                " ORDER BY created_at DESC, model, mode, version DESC",
                {"t": tenant, "m": model} if model is not None else {"t": tenant},
            )
        return [_from_row(r) for r in rows]
