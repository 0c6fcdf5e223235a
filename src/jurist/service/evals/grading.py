"""Grading one row with one grader: its score, whether it passed, and what it used.

- ``string_check``: 1 or 0 (``evaluation.graders.string_check``); passes on 1.
- ``text_similarity``: the metric's score in [0, 1]; passes at ``pass_threshold`` or above.
- ``score_model``: the model is asked, through Jurist's chat pipeline (judge cache, tenant and upstream
  limits, usage), for ``{"steps": [...], "result": <number>}`` under a JSON schema, and the answer is read
  down a parse ladder (``evaluation.graders.answers``: JSON, JSON in text, the text; ``parsed_by`` says
  which); ``result`` is clamped into ``range`` (default [0, 1]); an answer without a number scores the
  range's low end and is flagged.
  Passes at ``pass_threshold`` (default: the range's middle) or above.
- ``label_model``: the model picks one of ``labels`` (an enum in the schema); passes when the label is
  one of ``passing_labels``; score 1 or 0.
- Both model graders' results carry ``sample.confidence``, a raw signal like a judgment's
  (``evaluation.graders.answers.answer_confidence``: the parse rung times the probability of the value's
  first token, when the model gives token probabilities to its judge path).
- ``python``: the caller's ``grade(sample, item)`` in the sandbox; an error or a non-number scores 0.
- ``multi``: each sub-grader, then ``calculate_output`` over their scores.
- ``jurist_judge``: a PAI judge item (single or pairwise) through the judge path; the score is the
  judgment's overall score (single) or 1 / 0.5 / 0 for a win / tie / loss of ``answer1`` (pairwise).

A template naming a field the row lacks makes the result an error naming the path, not a failure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from jurist.errors import JuristError
from jurist.evaluation.graders import template
from jurist.evaluation.graders.answers import answer_confidence, label_answer, score_answer
from jurist.evaluation.graders.formula import FormulaError, parse
from jurist.evaluation.graders.string_check import string_check
from jurist.evaluation.graders.text_similarity import similarity
from jurist.protocol.chat import ChatCompletion
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.service.evals.criteria import sub_graders
from jurist.service.judging.pipeline import ChatService
from jurist.service.judging.requests import parse_chat_request
from jurist.store.eval_records import ModelUsage
from jurist.store.usage import judge_calls

Context = Mapping[str, object]
_STEP: JSONObject = {
    "type": "object",
    "properties": {"description": {"type": "string"}, "conclusion": {"type": "string"}},
    "required": ["description", "conclusion"],
}
SCORE_SCHEMA: JSONObject = {  # what a score_model grader's model answers (OpenAI's structured output)
    "type": "object",
    "properties": {"steps": {"type": "array", "items": _STEP}, "result": {"type": "number"}},
    "required": ["steps", "result"],
    "additionalProperties": False,
}


class Sandbox(Protocol):
    async def score(self, source: str, sample: object, item: object) -> tuple[float | None, str | None]:
        """The grader's score, or None and why (an error of the caller's code is not raised)."""
        ...


@dataclass
class Graded:
    score: float
    passed: bool
    error: str | None = None  # the result is an error (the row errored), with why
    sample: JSONObject | None = None  # what the grader saw or said (the model's answer, say)
    logprobs: JSONObject | None = None  # a model grader's token probabilities (not shown)
    usage: list[ModelUsage] = field(default_factory=list)

    def result(self, grader: Mapping[str, JsonValue]) -> JSONObject:
        """The output item's ``results[]`` entry."""
        out: JSONObject = {
            "name": grader.get("name"),
            "type": f"{str(grader.get('type')).replace('_', '-')}-grader",
            "score": self.score,
            "passed": self.passed,
            "sample": self.sample,
        }
        if self.error is not None:
            out["error"] = self.error
        return out


def _errored(why: str) -> Graded:
    return Graded(0.0, False, why)


def _messages(grader: Mapping[str, JsonValue], context: Context) -> list[JSONObject]:
    """A model grader's input messages, rendered (an EvalItem's content object becomes its text)."""
    out: list[JSONObject] = []
    for message in grader.get("input") or []:  # type: ignore[union-attr]
        assert isinstance(message, dict)  # checked with the eval
        content = message.get("content")
        if isinstance(content, dict):
            content = content.get("text", "")
        elif isinstance(content, list):
            content = "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        out.append(
            {"role": str(message.get("role")), "content": template.render(str(content or ""), context)}
        )
    return out


def _sampling(grader: Mapping[str, JsonValue]) -> JSONObject:
    params = grader.get("sampling_params")
    body: JSONObject = {"temperature": 0}
    if isinstance(params, dict):
        for key in ("temperature", "top_p", "seed"):
            if params.get(key) is not None:
                body[key] = params[key]
        tokens = params.get("max_completions_tokens", params.get("max_completion_tokens"))
        if tokens is not None:
            body["max_completion_tokens"] = tokens
    return body


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def usage_of(model: str, completion: ChatCompletion) -> ModelUsage:
    """A grader's model usage: its judge calls (a judgment's ``attempts``: both orders of a swap, every
    game of an ensemble and every re-ask; one call otherwise), none for an answer from the judge cache."""
    hit = completion.cache_status == "hit"
    tokens = completion.usage
    cached = tokens.prompt_tokens if hit else 0
    calls = 0 if hit else judge_calls(completion)
    return ModelUsage(model, calls, tokens.prompt_tokens, tokens.completion_tokens, cached)


class Grader:
    """Grades rows for one tenant (model graders call its chat pipeline as the tenant)."""

    def __init__(self, chat: ChatService, tenant: str, sandbox: Sandbox | None = None) -> None:
        self.chat = chat
        self.tenant = tenant
        self.sandbox = sandbox

    async def grade(self, grader: Mapping[str, JsonValue], context: Context) -> Graded:
        kind = grader.get("type")
        try:
            if kind == "string_check":
                return self._string_check(grader, context)
            if kind == "text_similarity":
                return self._similarity(grader, context)
            if kind == "score_model":
                return await self._score_model(grader, context)
            if kind == "label_model":
                return await self._label_model(grader, context)
            if kind == "python":
                return await self._python(grader, context)
            if kind == "multi":
                return await self._multi(grader, context)
            if kind == "jurist_judge":
                return await self._judge(grader, context)
        except template.MissingVariable as exc:
            return _errored(f"invalid_variable_error: {exc}")
        except JuristError as exc:
            if exc.status_code >= 500 or exc.status_code == 429:
                raise  # the model is down or limited: the row is tried again later
            return _errored(f"model_grader_error: {exc.message}")
        return _errored(f"unknown grader type {kind!r}")

    def _string_check(self, grader: Mapping[str, JsonValue], context: Context) -> Graded:
        given = template.render(str(grader["input"]), context)
        reference = template.render(str(grader["reference"]), context)
        score = string_check(given, reference, str(grader["operation"]))
        return Graded(score, score == 1.0)

    def _similarity(self, grader: Mapping[str, JsonValue], context: Context) -> Graded:
        given = template.render(str(grader["input"]), context)
        reference = template.render(str(grader["reference"]), context)
        metric = str(grader["evaluation_metric"])
        if metric == "cosine":
            return _errored("the cosine metric needs an embeddings model, and none is configured")
        score = similarity(metric, given, reference)
        return Graded(score, score >= float(grader["pass_threshold"]))  # type: ignore[arg-type]

    async def _ask(
        self, grader: Mapping[str, JsonValue], context: Context, schema: JSONObject
    ) -> tuple[str, Graded]:
        """The model's answer text (asked for JSON under ``schema``; with token probabilities when the
        model gives them to its judge path), and a result to fill in (its ``sample._logprobs`` apart)."""
        model = str(grader["model"])
        judge = self.chat.models.get(model)
        wants = judge is not None and judge.config.wants_logprobs
        body: JSONObject = {
            "model": model,
            "messages": _messages(grader, context),  # type: ignore[dict-item]
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "grade", "strict": True, "schema": schema},
            },
            **_sampling(grader),
            **({"logprobs": True, "top_logprobs": 5} if wants else {}),
        }
        completion = await self.chat.complete(parse_chat_request(body), self.tenant)
        text = completion.choices[0].message.content or ""
        said: JSONObject = {"model": model, "output_text": text}
        graded = Graded(0.0, False, sample=said, usage=[usage_of(model, completion)])
        graded.logprobs = completion.choices[0].logprobs
        return text, graded

    async def _score_model(self, grader: Mapping[str, JsonValue], context: Context) -> Graded:
        low, high = (float(b) for b in grader.get("range") or [0, 1])  # type: ignore[union-attr, arg-type]
        text, graded = await self._ask(grader, context, SCORE_SCHEMA)
        found = score_answer(text)
        if found is None:
            graded.score, graded.passed = low, False
            graded.sample = {**(graded.sample or {}), "parse_error": "the answer holds no numeric result"}
            return graded
        confidence = answer_confidence(text, "result", _number_text(found[0]), found[1], graded.logprobs)
        graded.sample = {**(graded.sample or {}), "parsed_by": found[1], "confidence": confidence}
        graded.score = min(high, max(low, found[0]))
        threshold = grader.get("pass_threshold")
        cut = float(threshold) if isinstance(threshold, int | float) else (low + high) / 2
        graded.passed = graded.score >= cut
        return graded

    async def _label_model(self, grader: Mapping[str, JsonValue], context: Context) -> Graded:
        labels = [str(x) for x in grader.get("labels") or []]  # type: ignore[union-attr]
        passing = {str(x) for x in grader.get("passing_labels") or []}  # type: ignore[union-attr]
        schema: JSONObject = {
            "type": "object",
            "properties": {"label": {"type": "string", "enum": labels}},  # type: ignore[dict-item]
            "required": ["label"],
            "additionalProperties": False,
        }
        text, graded = await self._ask(grader, context, schema)
        found = label_answer(text, labels)
        if found is None:
            graded.sample = {**(graded.sample or {}), "parse_error": f"the answer picks no label of {labels}"}
            return graded
        confidence = answer_confidence(text, "label", found[0], found[1], graded.logprobs)
        graded.sample = {
            **(graded.sample or {}),
            "label": found[0],
            "parsed_by": found[1],
            "confidence": confidence,
        }
        graded.passed = found[0] in passing
        graded.score = 1.0 if graded.passed else 0.0
        return graded

    async def _python(self, grader: Mapping[str, JsonValue], context: Context) -> Graded:
        if self.sandbox is None:
            return _errored("python_grader_server_error: python graders are off on this deployment")
        score, why = await self.sandbox.score(
            str(grader["source"]), context.get("sample"), context.get("item")
        )
        if score is None:
            if why is not None and why.startswith("python_grader_server_error"):
                return _errored(why)  # the sandbox failed this server: an error, not the grader's
            return Graded(0.0, False, sample={"python_grader_runtime_error": why})
        threshold = grader.get("pass_threshold")
        return Graded(score, score >= float(threshold) if isinstance(threshold, int | float) else score > 0)

    async def _multi(self, grader: Mapping[str, JsonValue], context: Context) -> Graded:
        subs = sub_graders(grader, "grader")
        scores: dict[str, float] = {}
        used: list[ModelUsage] = []
        details: JSONObject = {}
        for name, (sub, _) in subs.items():
            done = await self.grade(sub, context)
            if done.error is not None:
                return Graded(0.0, False, f"{name}: {done.error}", usage=used + done.usage)
            scores[name], used = done.score, used + done.usage
            details[name] = done.score
        try:
            score = parse(str(grader["calculate_output"]), set(subs)).evaluate(scores)
        except FormulaError as exc:
            return Graded(0.0, False, f"formula_parse_error: {exc}", usage=used)
        return Graded(score, score > 0, sample={"sub_rewards": details}, usage=used)

    async def _judge(self, grader: Mapping[str, JsonValue], context: Context) -> Graded:
        model, mode = str(grader["model"]), str(grader.get("mode", "single"))
        keys = (
            ("question", "answer", "reference")
            if mode == "single"
            else ("question", "answer1", "answer2", "reference")
        )
        item: JSONObject = {
            k: template.render(str(grader[k]), context) for k in keys if grader.get(k) is not None
        }
        for key in ("criteria", "scene", "swap"):
            if grader.get(key) is not None:
                item[key] = grader[key]
        body: JSONObject = {
            "model": model,
            "messages": [{"role": "user", "content": [{"mode": mode, "type": "json", "json": item}]}],
        }
        completion = await self.chat.complete(parse_chat_request(body), self.tenant)
        judgment = completion.judgment
        used = [usage_of(model, completion)]
        if judgment is None or not judgment.scored:
            return Graded(0.0, False, "model_grader_parse_error: the judge gave no verdict", usage=used)
        said: JSONObject = {"model": model, "judgment": judgment.model_dump(mode="json", exclude_none=True)}
        threshold = grader.get("pass_threshold")
        if mode == "pairwise":
            winner = getattr(judgment, "winner", None)
            score = {"response_1": 1.0, "tie": 0.5}.get(str(winner), 0.0)
            return Graded(
                score,
                score >= float(threshold) if isinstance(threshold, int | float) else score == 1.0,
                sample=said,
                usage=used,
            )
        score = float(getattr(judgment, "overall_score", 0) or 0)
        low, high = judgment.score_range
        cut = float(threshold) if isinstance(threshold, int | float) else (low + high) / 2
        return Graded(score, score >= cut, sample=said, usage=used)
