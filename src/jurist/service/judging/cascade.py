"""A cascade model (``cascade = ["pai-judge", "pai-judge-plus"]``): judge with the first stage; keep its
verdict when its confidence reaches the stage's threshold, else escalate to the next; the last stage
decides, or abstains when an agreement target is asked for and it is not confident either (Jung et al.,
*Trust or Escalate*, cascaded selective evaluation).

Thresholds, per stage:
- with an agreement target (the request's, or the cascade's ``judging.agreement_target``), the stage's
  threshold for that target on the tenant's calibration of the stage's model (``service.trust``), each
  stage tested at delta / stages so that the accepted verdicts as a whole keep the target with
  probability ≥ 1 − delta (``evaluation.selective.per_stage_delta``); a stage whose calibration cannot
  support the target never accepts (its items escalate). A requested target that no stage supports is a
  400 before any judge call;
- without a target, ``escalate_below`` on the stage's confidence (calibrated when the tenant has a
  calibration of the stage, else the raw signal).

Each stage runs through the judge cache as its own model would. ``judgment.cascade`` lists the stages
run: model, verdict, confidence, threshold and which one decided. The judgment is the deciding stage's
(or the last one's), its ``attempts`` the calls of every stage that was not a cache hit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jurist.evaluation.selective import per_stage_delta
from jurist.protocol.chat import CascadeCalls, ChatCompletion, ChatCompletionRequest, ModelCascade, Usage
from jurist.protocol.judgment import CascadeStage, PairwiseJudgment, Selective, SingleJudgment
from jurist.service.trust.trust import Target, default_not_applied, raw_signal, unsupported, with_judgment
from jurist.settings.models import CascadeModelConfig

if TYPE_CHECKING:  # the chat service runs cascades: it imports this module
    from jurist.service.judging.chat import ChatService, JudgeModel

Judgment = SingleJudgment | PairwiseJudgment


@dataclass(frozen=True)
class _Threshold:
    value: float | None  # None: this stage never accepts
    raw: bool  # compared with the raw signal (an agreement target) or with the confidence shown
    shown: float | None  # on the scale of the stage's confidence
    reason: str = ""  # why there is none


def _verdict(judgment: Judgment) -> str | int | None:
    if not judgment.scored:
        return None
    if isinstance(judgment, PairwiseJudgment):
        return judgment.winner
    return judgment.overall_score


def _stage_request(request: ChatCompletionRequest, stage: JudgeModel) -> ChatCompletionRequest:
    sub = request.model_copy(update={"model": stage.name})
    sub._source = {**request.source, "model": stage.name}
    return sub


@dataclass
class _Run:
    stages: list[CascadeStage] = field(default_factory=list)
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    all_hits: bool = True

    def add(self, completion: ChatCompletion) -> None:
        hit = completion.cache_status == "hit"
        self.all_hits = self.all_hits and hit
        if not hit and completion.judgment is not None:
            self.calls += completion.judgment.attempts
        self.prompt_tokens += completion.usage.prompt_tokens
        self.completion_tokens += completion.usage.completion_tokens


def _escalate_below(model: JudgeModel) -> float:
    config = model.config
    return config.escalate_below if isinstance(config, CascadeModelConfig) else 1.0


def _each_stage(target: Target, model: JudgeModel) -> Target:
    """The target each stage is held to: delta split over the stages (``per_stage_delta``)."""
    return Target(target.agreement_target, per_stage_delta(target.delta, len(model.stages)), target.strict)


async def cascade_thresholds(
    chat: ChatService, model: JudgeModel, mode: str, tenant: str, target: Target | None
) -> tuple[list[_Threshold], Target | None, list[str]]:
    """Each stage's threshold, the target they hold (None: the plain rule), and warnings; a requested
    target no stage supports is a 400."""
    escalate = _escalate_below(model)
    plain = [_Threshold(escalate, False, escalate) for _ in model.stages]
    if target is None:
        return plain, None, []
    found, reasons = [], []
    each = _each_stage(target, model)
    for stage in model.stages:
        calibration, selection, reason = await chat.trust.selection(tenant, stage.name, mode, each)
        if selection is None or selection.threshold is None or calibration is None:
            found.append(_Threshold(None, True, None, reason))
            reasons.append(f"{stage.name}: {reason}")
        else:
            cut = selection.threshold
            found.append(_Threshold(cut, True, calibration.apply(cut)))
    if any(t.value is not None for t in found):
        return found, target, []
    if target.strict:
        raise unsupported(target, "no stage of the cascade supports it; " + "; ".join(reasons))
    return plain, None, [default_not_applied(target, "; ".join(reasons))]


async def run_cascade(
    chat: ChatService, request: ChatCompletionRequest, model: JudgeModel, tenant: str
) -> ChatCompletion:
    item = request.judge
    assert item is not None  # the chat service sends only judge requests here
    thresholds, target, warnings = await cascade_thresholds(
        chat, model, item.mode, tenant, chat.target_of(request, model)
    )
    run = _Run()
    last: ChatCompletion | None = None
    accepted = False
    for stage, threshold in zip(model.stages, thresholds, strict=True):
        completion = await chat.cached_complete(_stage_request(request, stage), stage, tenant)
        run.add(completion)
        judgment = completion.judgment
        assert judgment is not None
        assessed = await chat.trust.assess(tenant, stage.name, judgment, None)
        completion = with_judgment(completion, assessed)
        raw, shown = raw_signal(assessed), assessed.confidence
        compared = raw if threshold.raw else shown
        accepted = threshold.value is not None and compared is not None and compared >= threshold.value
        run.stages.append(
            CascadeStage(
                model=stage.name,
                verdict=_verdict(assessed),
                confidence=shown,
                calibrated=bool(assessed.calibrated),
                raw_confidence=assessed.raw_confidence,
                calibration=assessed.calibration,
                threshold=threshold.shown,
                decided=accepted,
            )
        )
        last = completion
        if accepted:
            break
    assert last is not None and last.judgment is not None
    if not accepted and target is None:  # no target: the last stage decides
        run.stages[-1] = run.stages[-1].model_copy(update={"decided": True})
    final: Judgment = last.judgment.model_copy(
        update={
            "cascade": run.stages,
            "attempts": max(run.calls, 1),
            "warnings": [*last.judgment.warnings, *warnings],
        }
    )
    if target is not None:
        decider = thresholds[len(run.stages) - 1]
        selective = Selective(
            agreement_target=target.agreement_target,
            delta=target.delta,
            threshold=decider.shown,
            raw_threshold=decider.value,
        )
        update: dict[str, object] = {"selective": selective, "abstained": not accepted}
        if decider.value is None:
            update["warnings"] = [*final.warnings, f"{model.stages[-1].name}: {decider.reason}"]
        final = final.model_copy(update=update)
    out = with_judgment(last, final).model_copy(
        update={
            "model": request.model,
            "usage": Usage(
                prompt_tokens=run.prompt_tokens,
                completion_tokens=run.completion_tokens,
                total_tokens=run.prompt_tokens + run.completion_tokens,
            ),
        }
    )
    out._cache = "hit" if run.all_hits else "miss"
    return out


async def escalation_share(
    chat: ChatService, stage: JudgeModel, mode: str, tenant: str, target: Target | None, escalate: float
) -> float | None:
    """The share of the stage's labelled items (its calibration's) it would escalate; None without one."""
    calibration = await chat.trust.calibration(tenant, stage.name, mode)
    if calibration is None or not calibration.points:
        return None
    raw = [s for s, _ in calibration.points]
    if target is not None:
        cut = calibration.selection(target.agreement_target, target.delta).threshold
        return 1.0 if cut is None else sum(1 for s in raw if s < cut) / len(raw)
    return sum(1 for s in raw if calibration.apply(s) < escalate) / len(raw)


async def cascade_card(chat: ChatService, model: JudgeModel, tenant: str) -> ModelCascade:
    """What a cascade costs this tenant: calls per item by mode, expected from how often each stage
    escalated the tenant's labelled items (at the cascade's default target, else ``escalate_below``)."""
    escalate = _escalate_below(model)
    judging = model.config.judging
    default = None if judging.agreement_target is None else Target(judging.agreement_target, judging.delta)
    target = None if default is None else _each_stage(default, model)
    calls: dict[str, CascadeCalls] = {}
    shares: dict[str, list[float | None]] = {}
    for mode in ("single", "pairwise"):
        per_stage = [stage.config.judging.calls_per_item[mode] for stage in model.stages]
        rates = [
            await escalation_share(chat, stage, mode, tenant, target, escalate) for stage in model.stages[:-1]
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
