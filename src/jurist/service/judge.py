"""Running one judgment: prompt → backend → parsing ladder → rendered PAI text + ``judgment``.

The ladder: constrained JSON (grammar or ``response_format``) → tolerant JSON / last-match text
parsing → one repair re-ask → an explicit unscored verdict. Never a default score.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from jurist.backends.base import Backend, GenerationRequest
from jurist.judging.expected import expected_scores
from jurist.judging.parsing import parse_verdict
from jurist.judging.prompts import REPAIR_INSTRUCTION, JudgeTask
from jurist.judging.render import render
from jurist.judging.verdict import JudgmentInfo, ParsedBy, Unscored, Verdict, judgment_object


@dataclass(frozen=True)
class JudgeOutcome:
    text: str
    judgment: dict[str, Any]
    verdict: Verdict | Unscored
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    info: JudgmentInfo | None = None
    expected: dict[str, float] | None = None  # by verdict key, see judging.expected


async def run_judgment(task: JudgeTask, backend: Backend, request: GenerationRequest) -> JudgeOutcome:
    first = await backend.generate(request)
    prompt_tokens, completion_tokens = first.prompt_tokens, first.completion_tokens
    verdict, how, problem = parse_verdict(first.text, task)
    parsed_by: ParsedBy = how
    attempts = 1
    decisive = first
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
        decisive = second
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
    expected = None
    if verdict is not None and how == "json":
        expected = expected_scores(decisive.text, decisive.logprobs, task.mode, task.scale)
    judgment = judgment_object(final, info)
    if expected is not None:
        judgment["expected_score"] = expected_score_field(expected)
    text = render(final, task.mode, task.scale, task.language)
    return JudgeOutcome(
        text=text,
        judgment=judgment,
        verdict=final,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        finish_reason="stop",
        info=info,
        expected=expected,
    )


def expected_score_field(expected: dict[str, float]) -> float | dict[str, float]:
    """``judgment.expected_score``: a number (single) or one per response (pairwise)."""
    if "overall_score" in expected:
        return round(expected["overall_score"], 4)
    return {
        "response_1": round(expected["response_1_score"], 4),
        "response_2": round(expected["response_2_score"], 4),
    }
