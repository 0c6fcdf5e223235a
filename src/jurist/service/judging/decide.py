"""Decide: which step's verdict is the judgment. A lone model's one step decides. A cascade keeps the
first stage whose verdict reaches its threshold (``plan.Threshold``); when none does, the last stage
decides, or, with an agreement target held, the judgment abstains.

``judgment.cascade`` lists the stages run: model, verdict, confidence, threshold and which one decided.
The judgment is the deciding stage's (or the last one's), its ``attempts`` the calls of every stage that
was not a cache hit, its usage the sum of theirs."""

from __future__ import annotations

from dataclasses import dataclass, field

from jurist.protocol.chat import ChatCompletion, ChatCompletionRequest
from jurist.protocol.judgment import CascadeStage, PairwiseJudgment, Selective, SingleJudgment
from jurist.service.judging.plan import JudgePlan, Step
from jurist.service.judging.respond import usage
from jurist.service.trust.trust import raw_signal, with_judgment

Judgment = SingleJudgment | PairwiseJudgment


def verdict_of(judgment: Judgment) -> str | int | None:
    if not judgment.scored:
        return None
    if isinstance(judgment, PairwiseJudgment):
        return judgment.winner
    return judgment.overall_score


@dataclass
class Decision:
    """The steps of one plan as they are run (``record``), and the judgment they give (``verdict``)."""

    plan: JudgePlan
    stages: list[CascadeStage] = field(default_factory=list)
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    all_hits: bool = True
    last: ChatCompletion | None = None
    accepted: bool = False

    def record(self, step: Step, completion: ChatCompletion) -> bool:
        """Record a step's completion (its judgment already assessed); whether it decides."""
        self.last = completion
        if not self.plan.cascade:
            self.accepted = True
            return True
        hit = completion.cache_status == "hit"
        self.all_hits = self.all_hits and hit
        judgment = completion.judgment
        assert judgment is not None  # a judge step's completion holds its judgment
        if not hit:
            self.calls += judgment.attempts
        self.prompt_tokens += completion.usage.prompt_tokens
        self.completion_tokens += completion.usage.completion_tokens
        threshold = step.threshold
        compared = raw_signal(judgment) if threshold.raw else judgment.confidence
        self.accepted = threshold.value is not None and compared is not None and compared >= threshold.value
        self.stages.append(
            CascadeStage(
                model=step.model.name,
                verdict=verdict_of(judgment),
                confidence=judgment.confidence,
                calibrated=bool(judgment.calibrated),
                raw_confidence=judgment.raw_confidence,
                calibration=judgment.calibration,
                threshold=threshold.shown,
                decided=self.accepted,
            )
        )
        return self.accepted

    def verdict(self, request: ChatCompletionRequest) -> ChatCompletion:
        """The judged completion: a lone model's as it is; a cascade's with its stages, calls and usage."""
        last = self.last
        assert last is not None and last.judgment is not None  # a plan has at least one step
        if not self.plan.cascade:
            return last
        plan, target = self.plan, self.plan.target
        if not self.accepted and target is None:  # no target: the last stage decides
            self.stages[-1] = self.stages[-1].model_copy(update={"decided": True})
        final: Judgment = last.judgment.model_copy(
            update={
                "cascade": self.stages,
                "attempts": max(self.calls, 1),
                "warnings": [*last.judgment.warnings, *plan.warnings],
            }
        )
        if target is not None:
            decider = plan.steps[len(self.stages) - 1].threshold
            selective = Selective(
                agreement_target=target.agreement_target,
                delta=target.delta,
                threshold=decider.shown,
                raw_threshold=decider.value,
            )
            update: dict[str, object] = {"selective": selective, "abstained": not self.accepted}
            if decider.value is None:
                update["warnings"] = [*final.warnings, f"{plan.steps[-1].model.name}: {decider.reason}"]
            final = final.model_copy(update=update)
        out = with_judgment(last, final).model_copy(
            update={"model": request.model, "usage": usage(self.prompt_tokens, self.completion_tokens)}
        )
        out._cache = "hit" if self.all_hits else "miss"
        return out
