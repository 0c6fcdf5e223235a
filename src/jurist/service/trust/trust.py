"""How far to trust a verdict: the tenant's calibrator turns the judgment's raw confidence signal into
the probability that a human agrees (``calibrated: true``, ``calibration`` names it), and an agreement
target holds back the verdicts below the threshold that guarantees it (``abstained: true``).

A calibration belongs to one (tenant, model, mode); the newest version is used, looked up at most once
per ``ttl`` seconds per key (a new fit on this node is seen at once, on other nodes within ``ttl``).
A threshold is chosen by fixed-sequence testing (``evaluation.selective``) on the calibration's
labelled points, in the raw signal's scale, once per (calibration, target, delta).

Calibration is applied after the judge cache: a cached verdict gets the tenant's current calibration.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from jurist.errors import InvalidRequest
from jurist.evaluation.calibration import Calibrator
from jurist.evaluation.selective import Selection, choose_threshold
from jurist.judging.render import render_abstention
from jurist.protocol.chat import ChatCompletion
from jurist.protocol.judgment import PairwiseJudgment, Selective, SingleJudgment
from jurist.store.calibrations import CalibrationHead, CalibrationRecord

Judgment = SingleJudgment | PairwiseJudgment
DEFAULT_DELTA = 0.1


@dataclass(frozen=True)
class Target:
    """An agreement target: ``strict`` when the request asked for it (unsupported → 400), not when it
    is the model's default (unsupported → decided verdicts and a warning)."""

    agreement_target: float
    delta: float = DEFAULT_DELTA
    strict: bool = True


@dataclass(frozen=True)
class Calibration:
    """A stored calibration, ready to apply."""

    id: str
    model: str
    mode: str
    version: int
    calibrator: Calibrator
    points: tuple[tuple[float, bool], ...]
    _selections: dict[tuple[float, float], Selection] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, record: CalibrationRecord) -> Calibration:
        calibrator = Calibrator.from_dict(dict(record.calibrator))
        return cls(record.id, record.model, record.mode, record.version, calibrator, record.points)

    def apply(self, raw: float) -> float:
        return round(self.calibrator.apply(raw), 4)

    def selection(self, target: float, delta: float) -> Selection:
        key = (target, delta)
        found = self._selections.get(key)
        if found is None:
            signal = [s for s, _ in self.points]
            agreed = [a for _, a in self.points]
            found = self._selections[key] = choose_threshold(signal, agreed, target, delta)
        return found


class NoCalibrations:
    """A calibration store that holds none (a chat service built without one: tests, embedders)."""

    async def latest(self, tenant: str, model: str, mode: str) -> CalibrationRecord | None:
        return None

    async def head(self, tenant: str, model: str, mode: str) -> CalibrationHead | None:
        return None


class CalibrationLookup(Protocol):
    async def latest(self, tenant: str, model: str, mode: str) -> CalibrationRecord | None: ...

    async def head(self, tenant: str, model: str, mode: str) -> CalibrationHead | None: ...


def raw_signal(judgment: Judgment) -> float | None:
    """The judgment's raw confidence signal (kept in ``raw_confidence`` once calibrated)."""
    return judgment.raw_confidence if judgment.calibrated else judgment.confidence


class TrustService:
    def __init__(self, store: CalibrationLookup, ttl: float = 1.0) -> None:
        self.store = store
        self._ttl = ttl
        self._cache: dict[tuple[str, str, str], tuple[float, Calibration | None]] = {}

    async def calibration(self, tenant: str, model: str, mode: str) -> Calibration | None:
        """The newest calibration, looked up at most once per ``ttl`` seconds (another node's new fit
        is seen within it); a lookup reads its points only when it is a new one."""
        key = (tenant, model, mode)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        found: Calibration | None = None
        kept = None if hit is None else hit[1]
        head = await self.store.head(tenant, model, mode)
        if head is not None and kept is not None and kept.id == head.id:
            found = kept  # still the newest: its points and chosen thresholds are kept too
        elif head is not None:
            record = await self.store.latest(tenant, model, mode)
            found = None if record is None else Calibration.of(record)
        self._cache[key] = (now + self._ttl, found)
        return found

    def forget(self, tenant: str) -> None:
        """Drop this node's cached lookups of a tenant (after a new fit here)."""
        for key in [k for k in self._cache if k[0] == tenant]:
            del self._cache[key]

    async def selection(
        self, tenant: str, model: str, mode: str, target: Target
    ) -> tuple[Calibration | None, Selection | None, str]:
        """The calibration and the threshold for the target, or the reason there is none."""
        calibration = await self.calibration(tenant, model, mode)
        if calibration is None:
            return (
                None,
                None,
                (
                    f"no calibration of model {model!r} in {mode} mode for this tenant: label lines of a "
                    "batch judged by it (POST /v1/batches/{batch_id}/labels) or POST /v1/calibrations"
                ),
            )
        selection = calibration.selection(target.agreement_target, target.delta)
        if selection.threshold is None:
            return calibration, None, f"calibration {calibration.id}: {selection.reason}"
        return calibration, selection, ""

    async def require(self, tenant: str, model: str, mode: str, target: Target) -> None:
        """A 400 naming the reason when the tenant's labels cannot support a requested target (checked
        before any judge call)."""
        if target.strict:
            _, selection, reason = await self.selection(tenant, model, mode, target)
            if selection is None:
                raise unsupported(target, reason)

    async def assess(self, tenant: str, model: str, judgment: Judgment, target: Target | None) -> Judgment:
        """The judgment with its calibrated confidence (when the tenant has a calibration) and, for a
        target, its threshold and whether it is held back (``abstained``)."""
        raw = raw_signal(judgment)
        if raw is None:  # unscored: no verdict to trust or hold back
            return judgment
        update: dict[str, Any] = {}
        calibration = await self.calibration(tenant, model, judgment.mode)
        if calibration is not None:
            update = {
                "confidence": calibration.apply(raw),
                "calibrated": True,
                "raw_confidence": raw,
                "calibration": calibration.id,
            }
        if target is not None:
            calibration, selection, reason = await self.selection(tenant, model, judgment.mode, target)
            if selection is None or selection.threshold is None or calibration is None:  # (types)
                if target.strict:
                    raise unsupported(target, reason)
                update["warnings"] = [*judgment.warnings, default_not_applied(target, reason)]
            else:
                update["selective"] = Selective(
                    agreement_target=target.agreement_target,
                    delta=target.delta,
                    threshold=calibration.apply(selection.threshold),
                    raw_threshold=selection.threshold,
                )
                update["abstained"] = raw < selection.threshold
        return judgment.model_copy(update=update) if update else judgment


def default_not_applied(target: Target, reason: str) -> str:
    return f"agreement_target {target.agreement_target} (the model's default) not applied: {reason}"


def unsupported(target: Target, reason: str) -> InvalidRequest:
    return InvalidRequest(
        f"agreement_target {target.agreement_target} cannot be guaranteed: {reason}.",
        param="agreement_target",
        code="agreement_target_unsupported",
    )


def with_judgment(completion: ChatCompletion, judgment: SingleJudgment | PairwiseJudgment) -> ChatCompletion:
    """The completion carrying ``judgment``; an abstention adds its sentence after the verdict text."""
    if judgment is completion.judgment:
        return completion
    update: dict[str, Any] = {"judgment": judgment}
    selective = judgment.selective
    if judgment.abstained and selective is not None and completion.choices:
        choice = completion.choices[0]
        sentence = render_abstention(
            judgment.language, judgment.confidence or 0.0, selective.threshold, selective.agreement_target
        )
        message = choice.message.model_copy(update={"content": f"{choice.message.content}\n\n{sentence}"})
        update["choices"] = [choice.model_copy(update={"message": message}), *completion.choices[1:]]
    return completion.model_copy(update=update)
