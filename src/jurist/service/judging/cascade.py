"""What a cascade model (``cascade = ["pai-judge", "pai-judge-plus"]``) costs a tenant, for its model
card: calls per item by mode, expected from how often each stage escalated the tenant's labelled items.
How a cascade judges is the judging pipeline's (``plan``: its stages' thresholds; ``decide``: which
stage's verdict is the judgment)."""

from __future__ import annotations

from jurist.protocol.chat import CascadeCalls, ModelCascade
from jurist.service.judging.models import JudgeModel
from jurist.service.judging.plan import each_stage
from jurist.service.trust.trust import Target, TrustService


async def escalation_share(
    trust: TrustService, stage: JudgeModel, mode: str, tenant: str, target: Target | None, escalate: float
) -> float | None:
    """The share of the stage's labelled items (its calibration's) it would escalate; None without one."""
    calibration = await trust.calibration(tenant, stage.name, mode)
    if calibration is None or not calibration.points:
        return None
    raw = [s for s, _ in calibration.points]
    if target is not None:
        cut = calibration.selection(target.agreement_target, target.delta).threshold
        return 1.0 if cut is None else sum(1 for s in raw if s < cut) / len(raw)
    return sum(1 for s in raw if calibration.apply(s) < escalate) / len(raw)


async def cascade_card(trust: TrustService, model: JudgeModel, tenant: str) -> ModelCascade:
    """What a cascade costs this tenant: calls per item by mode, expected from how often each stage
    escalated the tenant's labelled items (at the cascade's default target, else ``escalate_below``)."""
    escalate = model.escalate_below
    judging = model.config.judging
    default = None if judging.agreement_target is None else Target(judging.agreement_target, judging.delta)
    target = None if default is None else each_stage(default, model)
    calls: dict[str, CascadeCalls] = {}
    shares: dict[str, list[float | None]] = {}
    for mode in ("single", "pairwise"):
        per_stage = [stage.config.judging.calls_per_item[mode] for stage in model.stages]
        rates = [
            await escalation_share(trust, stage, mode, tenant, target, escalate)
            for stage in model.stages[:-1]
        ]
        expected: float | None = float(per_stage[0])
        reach = 1.0
        for rate, cost in zip(rates, per_stage[1:], strict=True):
            if rate is None or expected is None:
                expected = None
                break
            reach *= rate
            expected += reach * cost
        calls[mode] = CascadeCalls(
            min=per_stage[0], max=sum(per_stage), expected=None if expected is None else round(expected, 3)
        )
        shares[mode] = rates
    return ModelCascade(
        stages=[stage.name for stage in model.stages],
        escalate_below=escalate,
        agreement_target=judging.agreement_target,
        calls_per_item=calls,
        escalation=shares,
    )
