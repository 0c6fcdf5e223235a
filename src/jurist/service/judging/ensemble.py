"""Judging one item: the games its plan calls for — both orders of a pair (``swap``) and/or ``samples``
draws; a plain call is a plan of one game — run concurrently, then decided by
``judging.judgment.decide`` and rendered as PAI's text.

Sample 0 runs at the request's temperature (0 by default, so a one-sample judge is deterministic);
samples 1..N-1 run at the model's ``sample_temperature`` (or the request's, when above 0) with seeds
``seed + s``, so an ensemble is reproducible on the embedded model and cacheable as a whole.
Calls per item: ``samples × (2 if swap else 1)`` (+1 for each verdict that needs a repair re-ask).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from jurist.backends.base import Backend, GenerationRequest
from jurist.evaluation.confidence import raw_confidence
from jurist.judging.hardening import suspect_flags
from jurist.judging.judgment import Context, decide
from jurist.judging.prompts import JudgeTask
from jurist.judging.reconcile import swapped
from jurist.judging.render import render
from jurist.protocol.items import JudgeItem, PairwiseItem
from jurist.protocol.judgment import Order, PairwiseJudgment, SingleJudgment
from jurist.service.judging.judge import run_judgment


@dataclass(frozen=True)
class EnsemblePlan:
    samples: int = 1
    swap: bool = False
    sample_temperature: float = 0.7
    seed: int = 0

    @property
    def calls(self) -> int:
        return self.samples * (2 if self.swap else 1)


@dataclass(frozen=True)
class JudgeOutcome:
    text: str  # PAI's verdict text
    judgment: SingleJudgment | PairwiseJudgment
    prompt_tokens: int
    completion_tokens: int


def _sample_request(request: GenerationRequest, plan: EnsemblePlan, sample: int) -> GenerationRequest:
    if sample == 0:
        return request
    hot = request.temperature if request.temperature else plan.sample_temperature
    base_seed = plan.seed if request.seed is None else request.seed
    return dataclasses.replace(request, temperature=hot, seed=base_seed + sample)


def with_raw_confidence(judgment: SingleJudgment | PairwiseJudgment) -> SingleJudgment | PairwiseJudgment:
    """The judgment with its raw confidence signal (``calibrated: false``); a calibrator fitted on the
    tenant's labels may replace it later (``service.trust``)."""
    signal = raw_confidence(judgment)
    if signal is None:
        return judgment
    return judgment.model_copy(update={"confidence": round(signal, 4), "calibrated": False})


async def judge_item(
    item: JudgeItem,
    build: Callable[[JudgeItem], JudgeTask],
    backend: Backend,
    request: GenerationRequest,
    plan: EnsemblePlan,
) -> JudgeOutcome:
    tasks: list[tuple[JudgeTask, Order]] = [(build(item), "as_given")]
    if plan.swap and isinstance(item, PairwiseItem):
        tasks.append((build(swapped(item)), "swapped"))
    played = await asyncio.gather(
        *(
            run_judgment(task, backend, _sample_request(request, plan, s), order, s)
            for s in range(plan.samples)
            for task, order in tasks
        )
    )
    head = tasks[0][0]
    flags = tuple(suspect_flags(item))
    context = Context(
        head.mode, head.scale, head.scene, head.language, tuple(item.warnings), flags, head.reasons
    )
    decision = decide(context, [p.game for p in played])
    return JudgeOutcome(
        text=render(decision.verdict, head.mode, head.scale, head.language, head.reasons),
        judgment=with_raw_confidence(decision.judgment),
        prompt_tokens=sum(p.prompt_tokens for p in played),
        completion_tokens=sum(p.completion_tokens for p in played),
    )
