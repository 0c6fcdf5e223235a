"""Calibrations from human labels: fit a calibrator for one (tenant, model, mode) on the labelled lines
of some batches — on request (``POST /v1/calibrations``) or by itself whenever a batch gets labels
(the newest calibration's batches plus that one) — and store it as the next version.

A labelled line gives one point per verdict: the judge's raw confidence signal and whether it agreed
with the annotators' majority (a tie among annotators gives no gold: left out). The verdict of a line
judged by a model is that model's; a line judged by a cascade gives a point to each stage it ran, for
that stage's model (the calibration items that reached the stage, as the cascade's guarantee needs).
Pairwise verdicts agree when the winner is the gold one; single verdicts when the score is exactly it.

A labelled line (or cascade stage) whose verdict is unscored, or that has no confidence signal, is
**undecided**: not left out, but a point at the lowest confidence (``UNDECIDED_SIGNAL``, 0: the bottom of
the raw signal's scale), so thresholds are chosen with it and it is abstained on whenever anything is.
Without a verdict it counts as disagreed with (conservative: there is no verdict a human agreed with);
with one (no signal only), as its verdict does. A calibration counts them (``undecided``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from jurist.errors import InvalidRequest, JuristError, ModelNotFound, NotFound
from jurist.evaluation.calibration import fit_calibrator
from jurist.evaluation.reliability import calibration_quality
from jurist.ids import Clock, new_id
from jurist.service.trust.labels import LabelService
from jurist.service.trust.line_facts import LineFacts, Offload, in_thread
from jurist.service.trust.trust import Calibration, TrustService
from jurist.settings import CascadeModelConfig, ModelConfig
from jurist.store.calibrations import CalibrationRecord, CalibrationStore

MIN_ITEMS = 10  # labelled verdicts needed to fit a calibration
UNDECIDED_SIGNAL = 0.0  # the raw confidence of an unscored (undecided) labelled verdict: the lowest
OFFLOAD_MIN_POINTS = 2000  # a fit or a showing of fewer points runs in a thread: a process costs more
LINES_PER_TURN = 2000  # labelled lines turned into points between turns of the event loop
SHOWN_TARGETS = (0.7, 0.8, 0.9, 0.95)  # the thresholds a calibration object lists, at delta 0.1
_WINNERS = {"response_1": "1", "response_2": "2", "tie": "tie"}

Key = tuple[str, str]  # (model, mode)


@dataclass(frozen=True)
class Point:
    model: str
    mode: str
    signal: float
    agreed: bool
    undecided: bool = False  # unscored or without a signal: at ``UNDECIDED_SIGNAL``


def _point(model: str, mode: str, signal: float | None, verdict: object, gold: object) -> Point:
    """A verdict's point; an undecided one (see the module) at the lowest confidence."""
    agreed = verdict is not None and (
        _WINNERS.get(str(verdict)) == gold if mode == "pairwise" else verdict == gold
    )
    if signal is None or verdict is None:
        return Point(model, mode, UNDECIDED_SIGNAL, agreed, undecided=True)
    return Point(model, mode, signal, agreed)


def gold_of(counts: Counter[str | int]) -> str | int | None:
    """The annotators' majority label; None when two labels tie for it (no gold)."""
    top = counts.most_common(2)
    if not top or (len(top) == 2 and top[0][1] == top[1][1]):
        return None
    return top[0][0]


def fact_points(line: LineFacts, gold: object, cascades: Collection[str]) -> list[Point]:
    """The points one labelled line gives: its verdict's, or each cascade stage's (a line of a
    cascade's name that holds no stages gives none)."""
    if gold is None or (not line.cascade and line.model in cascades):
        return []
    mode = line.kind.mode
    return [_point(v.model, mode, v.signal, v.verdict, gold) for v in line.verdicts]


class CalibrationService:
    def __init__(
        self,
        store: CalibrationStore,
        labels: LabelService,
        trust: TrustService,
        models: Mapping[str, ModelConfig],
        clock: Clock,
        offload: Offload = in_thread,
    ) -> None:
        self.store = store
        self.labels = labels
        self.trust = trust
        self.models = models
        self.clock = clock
        self._offload = offload

    def _cpu(self, points: int) -> Offload:
        """Where a fit or a showing of ``points`` points runs: a large one in the offload process
        (its bootstrap and threshold search would hold the GIL other tenants' requests wait for)."""
        return self._offload if points >= OFFLOAD_MIN_POINTS else in_thread

    async def shown(self, records: Sequence[CalibrationRecord]) -> list[dict[str, object]]:
        """``wire`` of each record, off the event loop."""
        return await self._cpu(sum(len(r.points) for r in records))(wire_all, list(records))

    async def points(self, tenant: str, batch_id: str) -> list[Point]:
        """Every point the batch's labelled lines give (another tenant's batch is a 404)."""
        facts = await self.labels.facts(tenant, batch_id)
        tallies = await self.labels.labels.tallies(tenant, batch_id)
        cascades = {n for n, c in self.models.items() if isinstance(c, CascadeModelConfig)}
        out: list[Point] = []
        for i, (custom_id, counts) in enumerate(tallies.items()):
            if i and i % LINES_PER_TURN == 0:
                await asyncio.sleep(0)  # a refit of 20,000 lines lets other requests run between turns
            line = facts.get(custom_id)
            if line is not None:
                out += fact_points(line, gold_of(counts), cascades)
        return out

    async def create(
        self, tenant: str, model: str, batches: list[str], mode: str | None = None, source: str = "request"
    ) -> CalibrationRecord:
        config = self.models.get(model)
        if config is None:
            raise ModelNotFound(f"The model '{model}' does not exist.", param="model")
        if isinstance(config, CascadeModelConfig):
            stages = ", ".join(config.cascade)
            raise InvalidRequest(
                f"{model} is a cascade: calibrate each of its stages ({stages}); a cascade's lines count "
                "for its stages.",
                param="model",
            )
        if not batches:
            raise InvalidRequest("batches must list at least one batch id.", param="batches")
        found: list[Point] = []
        seen: set[str] = set()
        for i, batch_id in enumerate(batches):
            if batch_id in seen:  # a batch named twice counts once: each labelled line is one item
                continue
            seen.add(batch_id)
            try:
                found += await self.points(tenant, batch_id)
            except NotFound as exc:
                raise NotFound(exc.message, param=f"batches[{i}]") from exc
        ours = [p for p in found if p.model == model and (mode is None or p.mode == mode)]
        modes = sorted({p.mode for p in ours})
        if len(modes) > 1:
            raise InvalidRequest(
                f"The batches hold labelled {' and '.join(modes)} lines of {model}: say which with mode.",
                param="mode",
            )
        if len(ours) < MIN_ITEMS:
            what = f"{mode} " if mode else ""
            raise InvalidRequest(
                f"A calibration needs at least {MIN_ITEMS} labelled {what}verdicts of {model} "
                f"(lines with a human majority label); the batches hold {len(ours)}.",
                param="batches",
            )
        return await self._fit(tenant, model, modes[0], list(dict.fromkeys(batches)), ours, source)

    async def _fit(
        self, tenant: str, model: str, mode: str, batches: list[str], points: list[Point], source: str
    ) -> CalibrationRecord:
        signal = [p.signal for p in points]
        agreed = [p.agreed for p in points]
        undecided = sum(p.undecided for p in points)
        fitted_on = f"{len(points)} labelled {mode} verdicts of {model} in {len(batches)} batch(es)"
        if undecided:
            fitted_on += f", {undecided} of them undecided"
        calibrator = await self._cpu(len(points))(fit_calibrator, signal, agreed, fitted_on)
        record = CalibrationRecord(
            id=new_id("cal_"), tenant=tenant, model=model, mode=mode, version=0, source=source,
            batches=tuple(batches), calibrator=dict(calibrator.as_dict()),  # type: ignore[arg-type]
            points=tuple(zip(signal, agreed, strict=True)), created_at=int(self.clock.now()),
            undecided=undecided,
        )  # fmt: skip
        stored = await self.store.add(record)
        self.trust.forget(tenant)
        return stored

    async def refit_after_labels(self, tenant: str, batch_id: str) -> list[CalibrationRecord]:
        """After a batch got labels: each (model, mode) it holds labelled verdicts of is refitted on
        the newest calibration's batches plus this one (once there are ``MIN_ITEMS`` points)."""
        fresh = await self.points(tenant, batch_id)
        out = []
        for model, mode in sorted({(p.model, p.mode) for p in fresh}):
            if model not in self.models:
                continue
            latest = await self.store.head(tenant, model, mode)
            batches = list(dict.fromkeys([*(latest.batches if latest else ()), batch_id]))
            points: list[Point] = []
            kept: list[str] = []
            for other in batches:
                try:
                    got = fresh if other == batch_id else await self.points(tenant, other)
                except JuristError:  # a batch of the earlier fit that is gone or has lost its output
                    continue
                points += [p for p in got if (p.model, p.mode) == (model, mode)]
                kept.append(other)
            if len(points) >= MIN_ITEMS:
                out.append(await self._fit(tenant, model, mode, kept, points, "labels"))
        return out

    async def get(self, tenant: str, calibration_id: str) -> CalibrationRecord:
        record = await self.store.get(tenant, calibration_id)
        if record is None:
            raise NotFound(f"No calibration found with id '{calibration_id}'.", param="calibration_id")
        return record

    async def list(self, tenant: str, model: str | None = None) -> list[CalibrationRecord]:
        return await self.store.list(tenant, model)


def wire_all(records: list[CalibrationRecord]) -> list[dict[str, object]]:
    return [wire(r) for r in records]


def wire(record: CalibrationRecord) -> dict[str, object]:
    """The calibration as the API shows it: what it was fitted on, its in-sample quality, and the
    thresholds it gives for common agreement targets (at delta 0.1)."""
    calibration = Calibration.of(record)
    signal = [s for s, _ in record.points]
    agreed = [a for _, a in record.points]
    probability = calibration.calibrator.apply_many(signal)
    quality = calibration_quality(list(probability), agreed).as_dict()
    return {
        "id": record.id,
        "object": "calibration",
        "model": record.model,
        "mode": record.mode,
        "version": record.version,
        "source": record.source,
        "created_at": record.created_at,
        "batches": list(record.batches),
        "items": len(record.points),
        "undecided": record.undecided,
        "agreement": sum(agreed) / len(agreed) if agreed else None,
        "calibrator": record.calibrator,
        "quality": {**quality, "in_sample": True},
        "thresholds": list(_thresholds(calibration)),
    }


def _thresholds(calibration: Calibration) -> Iterable[dict[str, object]]:
    for target in SHOWN_TARGETS:
        selection = calibration.selection(target, 0.1)
        cut = selection.threshold
        yield {
            "agreement_target": target,
            "delta": 0.1,
            "supported": cut is not None,
            "threshold": None if cut is None else calibration.apply(cut),
            "raw_threshold": cut,
            "coverage": selection.calibration.coverage,
            "reason": selection.reason,
        }
