"""Running one game: prompt → backend → parsing ladder → a ``judging.judgment.Game``.

The ladder: constrained JSON (grammar or ``response_format``) → tolerant JSON / last-match text
parsing → one repair re-ask → an explicit unscored verdict. Never a default score. Building the
``judgment`` from the games played is ``judging.judgment.decide``'s business, not this module's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from jurist.backends.base import Backend, GenerationRequest
from jurist.judging.expected import expected_scores
from jurist.judging.judgment import Game
from jurist.judging.parsing import parse_verdict
from jurist.judging.prompts import REPAIR_INSTRUCTION, JudgeTask
from jurist.judging.verdict import ParsedBy, Unscored, Verdict
from jurist.protocol.json_types import JSONObject
from jurist.protocol.judgment import Order


@dataclass(frozen=True)
class Played:
    """A game and what it cost."""

    game: Game
    prompt_tokens: int
    completion_tokens: int


async def run_judgment(
    task: JudgeTask, backend: Backend, request: GenerationRequest, order: Order = "as_given", sample: int = 0
) -> Played:
    """One game of ``task`` (``request`` carries the sampling settings; the prompt is the task's)."""
    prompt: list[JSONObject] = [{"role": m["role"], "content": m["content"]} for m in task.messages]
    request = dataclasses.replace(request, messages=prompt, json_schema=task.schema)
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
    expected = None
    if verdict is None:
        parsed_by = "unscored"
        final = Unscored(
            "parse_failure", f"the judge model's output could not be read as a verdict ({problem})."
        )
    else:
        final = verdict
        if how == "json":
            expected = expected_scores(decisive.text, decisive.logprobs, task.mode, task.scale)
    shown = task.messages if task.item.return_prompt else None
    game = Game(order, sample, final, parsed_by, attempts, expected, shown)
    return Played(game, prompt_tokens, completion_tokens)
