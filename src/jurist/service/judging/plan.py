"""Plan: what a judge request will run, settled before any judge call.

- The agreement target it is held to: the request's (strict: one the tenant's labels cannot support is a
  400), else the model's default (lenient: a warning when it cannot be applied), else none.
- The steps: the model itself, or a cascade's stages in order, each with the threshold its verdict must
  reach to decide (``Threshold``).

Cascade thresholds, per stage: with an agreement target, the stage's threshold for that target on the
tenant's calibration of the stage's model (``service.trust``), each stage tested at delta / stages so
that the accepted verdicts as a whole keep the target with probability ≥ 1 − delta
(``evaluation.selective.per_stage_delta``); a stage whose calibration cannot support the target never
accepts (its items escalate), and a requested target no stage supports is a 400. Without a target,
``escalate_below`` on the stage's confidence (calibrated when the tenant has a calibration of the stage,
else the raw signal) (Jung et al., *Trust or Escalate*, cascaded selective evaluation).

Also here: the generation request a plan's games start from, and an item's ensemble plan."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from jurist.backends.base import GenerationRequest
from jurist.evaluation.selective import per_stage_delta
from jurist.protocol.chat import ChatCompletionRequest
from jurist.protocol.items import JudgeItem, PairwiseItem
from jurist.service.judging.ensemble import EnsemblePlan
from jurist.service.judging.models import JudgeModel
from jurist.service.trust.trust import Target, TrustService, default_not_applied, unsupported


@dataclass(frozen=True)
class Threshold:
    value: float | None  # None: this step never accepts (a lone model's step always decides)
    raw: bool  # compared with the raw signal (an agreement target) or with the confidence shown
    shown: float | None  # on the scale of the stage's confidence
    reason: str = ""  # why there is none


DECIDES = Threshold(None, False, None)  # a lone model's only step: its verdict is the judgment


@dataclass(frozen=True)
class Step:
    model: JudgeModel
    threshold: Threshold = DECIDES


@dataclass(frozen=True)
class JudgePlan:
    steps: tuple[Step, ...]
    target: Target | None  # the target the verdict is held to (None: none, or a cascade's plain rule)
    cascade: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def assessed_with(self) -> Target | None:
        """The target a step's trust assessment applies: a lone model's; a cascade's stages are
        assessed without one (the cascade's thresholds decide)."""
        return None if self.cascade else self.target


def target_of(request: ChatCompletionRequest, model: JudgeModel) -> Target | None:
    """The request's agreement target (strict), else the model's default (lenient), else None."""
    item, judging = request.judge, model.config.judging
    if item is not None and item.agreement_target is not None:
        delta = judging.delta if item.delta is None else item.delta
        return Target(item.agreement_target, delta, strict=True)
    if judging.agreement_target is not None:
        delta = judging.delta if item is None or item.delta is None else item.delta
        return Target(judging.agreement_target, delta, strict=False)
    return None


def each_stage(target: Target, model: JudgeModel) -> Target:
    """The target each stage is held to: delta split over the stages (``per_stage_delta``)."""
    return Target(target.agreement_target, per_stage_delta(target.delta, len(model.stages)), target.strict)


async def cascade_thresholds(
    trust: TrustService, model: JudgeModel, mode: str, tenant: str, target: Target | None
) -> tuple[list[Threshold], Target | None, list[str]]:
    """Each stage's threshold, the target they hold (None: the plain rule), and warnings; a requested
    target no stage supports is a 400."""
    escalate = model.escalate_below
    plain = [Threshold(escalate, False, escalate) for _ in model.stages]
    if target is None:
        return plain, None, []
    found, reasons = [], []
    each = each_stage(target, model)
    for stage in model.stages:
        calibration, selection, reason = await trust.selection(tenant, stage.name, mode, each)
        if selection is None or selection.threshold is None or calibration is None:
            found.append(Threshold(None, True, None, reason))
            reasons.append(f"{stage.name}: {reason}")
        else:
            cut = selection.threshold
            found.append(Threshold(cut, True, calibration.apply(cut)))
    if any(t.value is not None for t in found):
        return found, target, []
    if target.strict:
        raise unsupported(target, "no stage of the cascade supports it; " + "; ".join(reasons))
    return plain, None, [default_not_applied(target, "; ".join(reasons))]


async def plan_judging(
    trust: TrustService, request: ChatCompletionRequest, model: JudgeModel, item: JudgeItem, tenant: str
) -> JudgePlan:
    """The plan of a judge request (a requested target the tenant's labels cannot support: a 400)."""
    target = target_of(request, model)
    if not model.stages:
        if target is not None:
            await trust.require(tenant, model.name, item.mode, target)
        return JudgePlan((Step(model),), target)
    thresholds, held, warnings = await cascade_thresholds(trust, model, item.mode, tenant, target)
    steps = tuple(Step(s, t) for s, t in zip(model.stages, thresholds, strict=True))
    return JudgePlan(steps, held, cascade=True, warnings=tuple(warnings))


def step_request(request: ChatCompletionRequest, step: Step, plan: JudgePlan) -> ChatCompletionRequest:
    """The request as a cascade's stage sends it (its own model name, so its own cache entries)."""
    if not plan.cascade:
        return request
    sub = request.model_copy(update={"model": step.model.name})
    sub._source = {**request.source, "model": step.model.name}
    return sub


def generation(request: ChatCompletionRequest, model: JudgeModel) -> GenerationRequest:
    """The generation request a model's games start from."""
    judging = model.config.judging
    max_tokens = request.token_limit or judging.max_tokens
    temperature = judging.temperature if request.temperature is None else request.temperature
    if request.judge is not None:  # the judge's own prompt is set per game
        return GenerationRequest([], max_tokens, temperature, request.top_p, seed=request.seed)
    return GenerationRequest(
        messages=request.sent_messages,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=request.top_p,
        stop=request.stop,
        seed=request.seed,
        response_format=request.response_format,
        logprobs=request.logprobs,
        top_logprobs=request.top_logprobs,
        extra=request.passthrough,
    )


def judge_generation(request: ChatCompletionRequest, model: JudgeModel) -> GenerationRequest:
    """A judge item's base generation request (log-probabilities when the model's confidence uses them)."""
    config, base = model.config, generation(request, model)
    if config.wants_logprobs:
        base = dataclasses.replace(base, logprobs=True, top_logprobs=config.judging.top_logprobs)
    return base


def ensemble_plan(model: JudgeModel, item: JudgeItem) -> EnsemblePlan:
    """How many games an item's judgment plays: samples × both orders of a pair when swapped."""
    judging = model.config.judging
    swap = isinstance(item, PairwiseItem) and (judging.swap if item.swap is None else item.swap)
    return EnsemblePlan(
        samples=judging.samples if item.samples is None else item.samples,
        swap=swap,
        sample_temperature=judging.sample_temperature,
        seed=judging.seed,
    )
