"""``POST /v1/fine_tuning/alpha/graders/run`` and ``/validate`` (the SDK's ``fine_tuning.alpha.graders``).

``run`` grades one ``model_sample`` (a string: the ``sample.output_text``; ``sample.output_json`` when it
parses as a JSON object) against an optional ``item`` with one grader, and answers OpenAI's
``RunGraderResponse``: the ``reward``, the grader's errors as the 14 flags (a template naming a missing
field: ``invalid_variable_error``; a bad formula: ``formula_parse_error``; the python grader's own error:
``python_grader_runtime_error`` with its details; a model answer without a score:
``model_grader_parse_error``), ``sub_rewards`` of a multi grader, and the model graders' token usage.
``validate`` checks a grader without running anything (a python grader's source is only parsed)."""

from __future__ import annotations

import time
from collections.abc import Mapping

import orjson

from jurist.errors import InvalidRequest
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.service.evals.criteria import RUN_TYPES, GraderRules, check_grader
from jurist.service.evals.grading import Graded, Grader

ERROR_FLAGS = (
    "formula_parse_error", "sample_parse_error", "truncated_observation_error", "unresponsive_reward_error",
    "invalid_variable_error", "other_error", "python_grader_server_error", "python_grader_runtime_error",
    "model_grader_server_error", "model_grader_refusal_error", "model_grader_parse_error",
)  # fmt: skip
ERROR_DETAILS = (
    "python_grader_server_error_type",
    "python_grader_runtime_error_details",
    "model_grader_server_error_details",
)


def validate_grader(body: Mapping[str, JsonValue], rules: GraderRules) -> JSONObject:
    """``{"grader": …}`` as sent, when it is a grader ``graders/run`` takes (a 400 naming the field)."""
    return {"grader": check_grader(body.get("grader"), "grader", rules, RUN_TYPES)}


def _errors(graded: Graded) -> JSONObject:
    errors: JSONObject = {**dict.fromkeys(ERROR_FLAGS, False), **dict.fromkeys(ERROR_DETAILS, None)}
    why = graded.error or ""
    sample = graded.sample or {}
    runtime = sample.get("python_grader_runtime_error")
    if runtime is not None:
        errors["python_grader_runtime_error"] = True
        errors["python_grader_runtime_error_details"] = str(runtime)
    if "parse_error" in sample:
        errors["model_grader_parse_error"] = True
    for flag in ERROR_FLAGS:
        if why.startswith(flag) or f": {flag}" in why:
            errors[flag] = True
    if why.startswith("python_grader_server_error"):
        parts = why.split(": ", 2)  # "python_grader_server_error: <kind>: <details>"
        errors["python_grader_server_error_type"] = parts[1] if len(parts) == 3 else "disabled"
    if why.startswith("model_grader_error"):
        errors["model_grader_server_error"] = True
        errors["model_grader_server_error_details"] = why
    if why and not any(errors[f] for f in ERROR_FLAGS):
        errors["other_error"] = True
    return errors


async def run_grader(body: Mapping[str, JsonValue], grader: Grader, rules: GraderRules) -> JSONObject:
    spec = check_grader(body.get("grader"), "grader", rules, RUN_TYPES)
    sample_text = body.get("model_sample")
    if not isinstance(sample_text, str):
        raise InvalidRequest("model_sample must be the model's output, as a string.", param="model_sample")
    item = body.get("item", {})
    if item is not None and not isinstance(item, dict):
        raise InvalidRequest("item must be an object (the row the grader's templates read).", param="item")
    sample: JSONObject = {"output_text": sample_text, "choices": []}
    try:
        parsed = orjson.loads(sample_text)
        if isinstance(parsed, dict):
            sample["output_json"] = parsed
    except orjson.JSONDecodeError:
        pass
    began = time.perf_counter()
    graded = await grader.grade(spec, {"item": item or {}, "sample": sample})
    took = time.perf_counter() - began
    usage: JSONObject = {}
    tokens = 0
    for used in graded.usage:
        total = used.prompt_tokens + used.completion_tokens
        tokens += total
        usage[used.model] = {"prompt_tokens": used.prompt_tokens, "completion_tokens": used.completion_tokens,
                             "total_tokens": total, "cached_tokens": used.cached_tokens}  # fmt: skip
    subs = (graded.sample or {}).get("sub_rewards")
    name = str(spec.get("name"))
    return {
        "reward": graded.score,
        "metadata": {
            "name": name,
            "type": str(spec.get("type")),
            "errors": _errors(graded),
            "execution_time": took,
            "scores": subs if isinstance(subs, dict) else {name: graded.score},
            "token_usage": tokens if graded.usage else None,
            "sampled_model_name": graded.usage[0].model if graded.usage else None,
        },
        "sub_rewards": subs if isinstance(subs, dict) else {},
        "model_grader_token_usage_per_model": usage,
    }
