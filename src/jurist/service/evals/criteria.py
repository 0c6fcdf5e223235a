"""Graders (an eval's ``testing_criteria``, and ``graders/run`` / ``graders/validate``): checked without
running anything, and stored as sent plus an ``id`` (``<name>-<uuid4>``, what per-criterion results
name).

| type | in an eval | graders/run | inside multi |
|---|---|---|---|
| string_check, text_similarity, score_model, python | yes | yes | yes |
| label_model | yes | no | yes |
| multi | no | yes | no |
| jurist_judge (Jurist's extension) | yes | yes | no |

Templates are checked for form (``{{ item.x }}``, ``{{ sample.output_text }}``); a model grader's model
must be configured; a python grader is refused unless the deployment turned it on, and its source is
only parsed, never run."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from jurist.errors import InvalidRequest
from jurist.evaluation.graders import template
from jurist.evaluation.graders.formula import FormulaError, parse
from jurist.evaluation.graders.string_check import ALIASES, OPERATIONS
from jurist.evaluation.graders.text_similarity import EMBEDDING_METRICS, METRICS
from jurist.protocol.json_types import JSONObject, JsonValue

EVAL_TYPES = ("string_check", "text_similarity", "score_model", "label_model", "python", "jurist_judge")
RUN_TYPES = ("string_check", "text_similarity", "score_model", "python", "multi", "jurist_judge")
MULTI_TYPES = ("string_check", "text_similarity", "score_model", "label_model", "python")
ROLES = ("user", "assistant", "system", "developer")
PYTHON_OFF = (
    "The python grader runs the caller's code, so it is off by default. A deployment turns it on with "
    "JURIST_PYTHON_GRADER=true (each grade then runs in a sandboxed subprocess: time and memory limits, "
    "no network, a read-only file system)."
)


@dataclass(frozen=True)
class GraderRules:
    models: Collection[str]  # configured model names
    python: bool  # python graders allowed
    embeddings: bool  # a model for the cosine metric is configured
    check_python: Callable[[str, str], None] | None = None  # (source, param): a 400 when it cannot load


def _text(grader: Mapping[str, JsonValue], key: str, where: str, required: bool = True) -> str | None:
    value = grader.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{where}.{key} must be a string.", param=f"{where}.{key}")
    try:
        template.check(value)
    except template.TemplateError as exc:
        raise InvalidRequest(f"{where}.{key}: {exc}", param=f"{where}.{key}") from exc
    return value


def _number(grader: Mapping[str, JsonValue], key: str, where: str, required: bool) -> float | None:
    value = grader.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequest(f"{where}.{key} must be a number.", param=f"{where}.{key}")
    return float(value)


def _model(grader: Mapping[str, JsonValue], where: str, rules: GraderRules) -> None:
    model = grader.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest(f"{where}.model must name a model.", param=f"{where}.model")
    if model not in rules.models:
        available = ", ".join(sorted(rules.models))
        raise InvalidRequest(
            f"{where}.model {model!r} is not a configured model (available: {available}).",
            param=f"{where}.model",
        )


def check_messages(value: JsonValue, where: str) -> None:
    """A model grader's ``input`` (or a run's template): messages whose text content may hold templates."""
    if not isinstance(value, list) or not value:
        raise InvalidRequest(f"{where} must be a non-empty list of messages.", param=where)
    for i, message in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(message, dict):
            raise InvalidRequest(f"{at} must be a message object.", param=at)
        if message.get("role") not in ROLES:
            raise InvalidRequest(f"{at}.role must be one of {', '.join(ROLES)}.", param=f"{at}.role")
        content = message.get("content")
        if isinstance(content, dict):
            _text(content, "text", f"{at}.content")
        elif isinstance(content, list):
            for k, part in enumerate(content):
                if isinstance(part, dict) and "text" in part:
                    _text(part, "text", f"{at}.content[{k}]")
        else:
            _text(message, "content", at)


def _score_model(grader: Mapping[str, JsonValue], where: str, rules: GraderRules) -> None:
    _model(grader, where, rules)
    check_messages(grader.get("input"), f"{where}.input")
    bounds = grader.get("range", [0, 1])
    if (
        not isinstance(bounds, list) or len(bounds) != 2
        or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
        or not float(bounds[0]) < float(bounds[1])  # type: ignore[arg-type]
    ):  # fmt: skip
        raise InvalidRequest(f"{where}.range must be [low, high] with low < high.", param=f"{where}.range")
    _number(grader, "pass_threshold", where, required=False)
    params = grader.get("sampling_params")
    if params is not None and not isinstance(params, dict):
        raise InvalidRequest(f"{where}.sampling_params must be an object.", param=f"{where}.sampling_params")


def _label_model(grader: Mapping[str, JsonValue], where: str, rules: GraderRules) -> None:
    _model(grader, where, rules)
    check_messages(grader.get("input"), f"{where}.input")
    labels, passing = grader.get("labels"), grader.get("passing_labels")
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels):
        raise InvalidRequest(f"{where}.labels must be a non-empty list of strings.", param=f"{where}.labels")
    if not isinstance(passing, list) or not passing or not all(x in labels for x in passing):
        raise InvalidRequest(
            f"{where}.passing_labels must be a non-empty list of labels from {where}.labels.",
            param=f"{where}.passing_labels",
        )


def _python(grader: Mapping[str, JsonValue], where: str, rules: GraderRules) -> None:
    if not rules.python:
        raise InvalidRequest(PYTHON_OFF, param=f"{where}.type", code="python_grader_disabled")
    source = grader.get("source")
    if not isinstance(source, str):
        raise InvalidRequest(f"{where}.source must be the grader's Python source.", param=f"{where}.source")
    if rules.check_python is not None:
        rules.check_python(source, f"{where}.source")
    _number(grader, "pass_threshold", where, required=False)


def _string_check(grader: Mapping[str, JsonValue], where: str, rules: GraderRules) -> None:
    _text(grader, "input", where)
    _text(grader, "reference", where)
    operation = grader.get("operation")
    if operation not in OPERATIONS and operation not in ALIASES:
        raise InvalidRequest(
            f"{where}.operation must be one of {', '.join(OPERATIONS)}, got {operation!r}.",
            param=f"{where}.operation",
        )


def _text_similarity(grader: Mapping[str, JsonValue], where: str, rules: GraderRules) -> None:
    _text(grader, "input", where)
    _text(grader, "reference", where)
    metric = grader.get("evaluation_metric")
    if metric not in METRICS:
        raise InvalidRequest(
            f"{where}.evaluation_metric must be one of {', '.join(sorted(METRICS))}, got {metric!r}.",
            param=f"{where}.evaluation_metric",
        )
    if metric in EMBEDDING_METRICS and not rules.embeddings:
        raise InvalidRequest(
            f"{where}.evaluation_metric 'cosine' needs an embeddings model: configure one with "
            "`embeddings = true` on an OpenAI-compatible model in jurist.toml.",
            param=f"{where}.evaluation_metric",
        )
    _number(grader, "pass_threshold", where, required=True)


def _multi(grader: Mapping[str, JsonValue], where: str, rules: GraderRules) -> None:
    subs = sub_graders(grader, where)
    for sub, at in subs.values():
        kind = sub.get("type")
        if kind not in MULTI_TYPES:
            raise InvalidRequest(f"{at}.type {kind!r} cannot be inside a multi grader.", param=f"{at}.type")
        _CHECKS[str(kind)](sub, at, rules)
    formula = grader.get("calculate_output")
    if not isinstance(formula, str):
        raise InvalidRequest(
            f"{where}.calculate_output must be a formula.", param=f"{where}.calculate_output"
        )
    try:
        parse(formula, set(subs))
    except FormulaError as exc:
        raise InvalidRequest(
            f"{where}.calculate_output: {exc}", param=f"{where}.calculate_output", code="formula_parse_error"
        ) from exc


def sub_graders(grader: Mapping[str, JsonValue], where: str) -> dict[str, tuple[JSONObject, str]]:
    """A multi grader's graders by variable name, from any of upstream's three shapes: an object keyed by
    name (the guide's), a list (each named by its ``name``), or one grader (its ``name``)."""
    graders = grader.get("graders")
    at = f"{where}.graders"
    found: dict[str, tuple[JSONObject, str]] = {}
    if isinstance(graders, dict) and "type" in graders:
        graders = [graders]
    if isinstance(graders, dict):
        for key, sub in graders.items():
            if not isinstance(sub, dict):
                raise InvalidRequest(f"{at}.{key} must be a grader.", param=f"{at}.{key}")
            found[key] = (sub, f"{at}.{key}")
    elif isinstance(graders, list) and graders:
        for i, sub in enumerate(graders):
            named = sub.get("name") if isinstance(sub, dict) else None
            if not isinstance(sub, dict) or not isinstance(named, str) or not named.isidentifier():
                raise InvalidRequest(
                    f"{at}[{i}] must be a grader with a name usable in the formula.", param=f"{at}[{i}]"
                )
            found[named] = (sub, f"{at}[{i}]")
    if not found:
        raise InvalidRequest(f"{at} must hold the graders the formula combines.", param=at)
    return found


def _jurist_judge(grader: Mapping[str, JsonValue], where: str, rules: GraderRules) -> None:
    _model(grader, where, rules)
    mode = grader.get("mode", "single")
    if mode not in ("single", "pairwise"):
        raise InvalidRequest(f"{where}.mode must be 'single' or 'pairwise'.", param=f"{where}.mode")
    fields = ("question", "answer") if mode == "single" else ("question", "answer1", "answer2")
    for key in fields:
        _text(grader, key, where, required=key != "question")
    _text(grader, "reference", where, required=False)
    _number(grader, "pass_threshold", where, required=False)


_CHECKS: dict[str, Callable[[Mapping[str, JsonValue], str, GraderRules], None]] = {
    "string_check": _string_check,
    "text_similarity": _text_similarity,
    "score_model": _score_model,
    "label_model": _label_model,
    "python": _python,
    "multi": _multi,
    "jurist_judge": _jurist_judge,
}


def check_grader(grader: object, where: str, rules: GraderRules, allowed: tuple[str, ...]) -> JSONObject:
    """The grader, checked (a 400 naming the field); ``allowed``: the types this place takes."""
    if not isinstance(grader, dict):
        raise InvalidRequest(f"{where} must be a grader object.", param=where)
    kind = grader.get("type")
    if kind not in allowed:
        raise InvalidRequest(
            f"{where}.type must be one of {', '.join(allowed)}, got {kind!r}.", param=f"{where}.type",
            code="invalid_grader_type",
        )  # fmt: skip
    name = grader.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidRequest(f"{where}.name must be a non-empty string.", param=f"{where}.name")
    _CHECKS[str(kind)](grader, where, rules)
    return dict(grader)


def testing_criteria(value: object, rules: GraderRules) -> list[JsonValue]:
    """An eval's testing criteria, checked, each with its ``id``."""
    if not isinstance(value, list) or not value:
        raise InvalidRequest(
            "testing_criteria must be a non-empty list of graders.", param="testing_criteria"
        )
    out: list[JsonValue] = []
    names: set[str] = set()
    for i, grader in enumerate(value):
        checked = check_grader(grader, f"testing_criteria[{i}]", rules, EVAL_TYPES)
        name = checked["name"]
        assert isinstance(name, str)  # checked
        if name in names:
            raise InvalidRequest(
                f"testing_criteria[{i}].name {name!r} is used twice; names tell results apart.",
                param=f"testing_criteria[{i}].name",
            )
        names.add(name)
        out.append({**checked, "id": f"{name}-{uuid.uuid4()}"})
    return out
