"""Games: a request played against one judge model, with no cache and no trust. A plain request (a custom
template) is one generation; a judge item is the games its ensemble plan calls for (samples × both
orders of a pair, ``ensemble.judge_item``), decided into a judgment and rendered as PAI's text."""

from __future__ import annotations

import functools

from jurist.ids import chat_completion_id
from jurist.judging.prompts import build_task
from jurist.protocol.chat import ChatCompletion, ChatCompletionRequest, Choice, ResponseMessage
from jurist.service.judging.ensemble import judge_item
from jurist.service.judging.models import JudgeModel
from jurist.service.judging.plan import ensemble_plan, generation, judge_generation
from jurist.service.judging.respond import finish_reason, now, usage


async def play(request: ChatCompletionRequest, model: JudgeModel) -> ChatCompletion:
    """The request's completion from ``model``: its judgment, for a judge item."""
    created = now()
    item = request.judge
    if item is None:
        gen = await model.backend.generate(generation(request, model))
        return ChatCompletion(
            id=chat_completion_id(),
            created=created,
            model=request.model,
            choices=[
                Choice(
                    message=ResponseMessage(content=gen.text),
                    finish_reason=finish_reason(gen.finish_reason),
                    logprobs=gen.logprobs,
                )
            ],
            usage=usage(gen.prompt_tokens, gen.completion_tokens),
        )
    config = model.config
    reasons = config.judging.reasons if item.reasons is None else item.reasons
    build = functools.partial(build_task, reason_max_chars=config.reason_limit, reasons=reasons)
    outcome = await judge_item(
        item, build, model.backend, judge_generation(request, model), ensemble_plan(model, item)
    )
    return ChatCompletion(
        id=chat_completion_id(),
        created=created,
        model=request.model,
        choices=[Choice(message=ResponseMessage(content=outcome.text), finish_reason="stop")],
        usage=usage(outcome.prompt_tokens, outcome.completion_tokens),
        judgment=outcome.judgment,
    )
