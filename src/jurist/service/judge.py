"""Running one judgment: prompt → backend → parsing ladder → rendered PAI text + ``judgment``.

The ladder: constrained JSON (grammar or ``response_format``) → tolerant JSON / last-match text
parsing → one repair re-ask → an explicit unscored verdict. Never a default score.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jurist.backends.base import Backend, GenerationRequest
from jurist.judging.items import PairwiseItem
from jurist.judging.parsing import parse_verdict
from jurist.judging.prompts import REPAIR_INSTRUCTION, JudgeTask
from jurist.judging.reconcile import reconcile, swapped, unswap
from jurist.judging.render import render
from jurist.judging.verdict import JudgmentInfo, PairwiseVerdict, ParsedBy, Unscored, Verdict, judgment_object


@dataclass(frozen=True)
class JudgeOutcome:
    text: str
    judgment: dict[str, Any]
    verdict: Verdict | Unscored
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    info: JudgmentInfo | None = None


async def run_judgment(task: JudgeTask, backend: Backend, request: GenerationRequest) -> JudgeOutcome:
    first = await backend.generate(request)
    prompt_tokens, completion_tokens = first.prompt_tokens, first.completion_tokens
    verdict, how, problem = parse_verdict(first.text, task)
    parsed_by: ParsedBy = how
    attempts = 1
    if verdict is None:
        attempts = 2
        repair = dataclasses.replace(
            request,
            messages=[
                *request.messages,
                {"role": "assistant", "content": first.text},
                {"role": "user", "content": REPAIR_INSTRUCTION},
            ],
        )
        second = await backend.generate(repair)
        prompt_tokens += second.prompt_tokens
        completion_tokens += second.completion_tokens
        verdict, how, problem = parse_verdict(second.text, task)
        parsed_by = "repair_json" if how == "json" else "repair_text"
        if verdict is None and second.finish_reason == "length":
            problem += " (the judge model's output was cut off by max_tokens)"
    final: Verdict | Unscored
    if verdict is None:
        parsed_by = "unscored"
        final = Unscored(
            "parse_failure", f"the judge model's output could not be read as a verdict ({problem})."
        )
    else:
        final = verdict
    info = JudgmentInfo(
        mode="single" if task.mode == "single" else "pairwise",
        scale=task.scale,
        scene=task.scene,
        language=task.language,
        parsed_by=parsed_by,
        attempts=attempts,
        prompt=task.messages if task.item.return_prompt else None,
    )
    text = render(final, task.mode, task.scale, task.language)
    return JudgeOutcome(
        text=text,
        judgment=judgment_object(final, info),
        verdict=final,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        finish_reason="stop",
        info=info,
    )


async def run_swapped_pairwise(
    item: PairwiseItem,
    build: Callable[[PairwiseItem], JudgeTask],
    backend: Backend,
    request: GenerationRequest,
) -> JudgeOutcome:
    """Judge the pair in both orders and reconcile (see ``judging.reconcile``); ``judgment.swap``
    carries both games, in the caller's order, and whether they agreed."""
    tasks = (build(item), build(swapped(item)))
    first, second = await asyncio.gather(
        *(
            run_judgment(t, backend, dataclasses.replace(request, messages=t.messages, json_schema=t.schema))
            for t in tasks
        )
    )
    games = [first.verdict, second.verdict]
    if not all(isinstance(g, (PairwiseVerdict, Unscored)) for g in games):
        raise TypeError("swapped judging needs pairwise verdicts")
    one: PairwiseVerdict | Unscored = first.verdict  # type: ignore[assignment]
    back: PairwiseVerdict | Unscored = (
        unswap(second.verdict) if isinstance(second.verdict, PairwiseVerdict) else second.verdict  # type: ignore[assignment]
    )
    verdict, consistent, means = reconcile(one, back)
    assert first.info is not None and second.info is not None
    info = dataclasses.replace(first.info, attempts=first.info.attempts + second.info.attempts)
    if isinstance(verdict, Unscored):
        info.parsed_by = "unscored"
    judgment = judgment_object(verdict, info)
    judgment["swap"] = {
        "consistent": consistent,
        "rule": "disagreement_is_tie",
        "mean_scores": means,
        "games": [
            {"order": "as_given", **first.judgment},
            {"order": "swapped", **judgment_object(back, second.info)},
        ],
    }
    return JudgeOutcome(
        text=render(verdict, "pairwise", tasks[0].scale, tasks[0].language),
        judgment=judgment,
        verdict=verdict,
        prompt_tokens=first.prompt_tokens + second.prompt_tokens,
        completion_tokens=first.completion_tokens + second.completion_tokens,
        finish_reason="stop",
        info=info,
    )
