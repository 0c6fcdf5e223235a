"""Grading one row of a run: check its item against the eval's schema, sample it (a completions run),
grade it with every testing criterion, and give the output item.

An output item's ``status`` is ``pass`` when every criterion passed, ``fail`` when one failed and none
errored, ``error`` when the row could not be graded (not an object, its item does not match the schema,
sampling failed, or a criterion errored: a template naming a missing field, say). Errors are the row's,
never the run's: the run goes on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import orjson
from jsonschema import Draft202012Validator

from jurist.errors import JuristError
from jurist.evaluation.graders import template
from jurist.ids import new_id
from jurist.protocol.chat import ChatCompletion
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.service.evals.data_sources import sampling_params
from jurist.service.evals.definitions import item_schema
from jurist.service.evals.digests import digest
from jurist.service.evals.grading import Graded, Grader, usage_of
from jurist.service.evals.head_to_head import SOURCE_TYPE
from jurist.service.evals.head_to_head import shown as shown_pair
from jurist.service.judging.requests import parse_chat_request
from jurist.store.eval_records import ModelUsage, OutputItemRecord


@dataclass
class RowOutcome:
    record: OutputItemRecord
    usage: list[ModelUsage] = field(default_factory=list)


class RowError(Exception):
    """The row cannot be graded (the reason is the output item's)."""


def _sample_namespace(completion: ChatCompletion, wants_json: bool) -> JSONObject:
    """What ``{{sample.…}}`` reads after a model answered: output_text, output_json, choices, tools."""
    message = completion.choices[0].message
    text = message.content or ""
    choices = [c.model_dump(mode="json", exclude_none=True) for c in completion.choices]
    sample: JSONObject = {"model": completion.model, "output_text": text, "choices": choices}  # type: ignore[dict-item]
    tools = getattr(message, "tool_calls", None)
    if tools:
        sample["output_tools"] = [t.model_dump(mode="json") if hasattr(t, "model_dump") else t for t in tools]
    if wants_json:
        try:
            parsed = orjson.loads(text)
            sample["output_json"] = parsed if isinstance(parsed, dict) else None
        except orjson.JSONDecodeError:
            sample["output_json"] = None
    return sample


def _given_sample(row: Mapping[str, JsonValue]) -> JSONObject:
    """A jsonl row's own sample (``output_json`` parsed from ``output_text`` when it is JSON)."""
    sample = row.get("sample")
    if not isinstance(sample, dict):
        return {}
    out = dict(sample)
    text = out.get("output_text")
    if "output_json" not in out and isinstance(text, str):
        try:
            parsed = orjson.loads(text)
            if isinstance(parsed, dict):
                out["output_json"] = parsed
        except orjson.JSONDecodeError:
            pass
    return out


class RowGrader:
    """Grades the rows of one run (its eval's criteria and schema, its data source)."""

    def __init__(
        self,
        grader: Grader,
        eval_body: Mapping[str, JsonValue],
        data_source: Mapping[str, JsonValue],
        criteria: Sequence[JsonValue] | None = None,
    ):
        """``criteria``: the run's own testing criteria (a head-to-head run's), else the eval's."""
        self.grader = grader
        listed = criteria if criteria is not None else eval_body.get("testing_criteria") or []
        self.criteria = [c for c in listed if isinstance(c, dict)]  # type: ignore[union-attr]
        config = eval_body.get("data_source_config")
        schema = item_schema(config) if isinstance(config, dict) else None
        self.validator = None if schema is None else Draft202012Validator(schema)
        self.data_source = data_source

    def _item(self, row: JsonValue) -> JSONObject:
        if not isinstance(row, dict):
            raise RowError("the row is not a JSON object")
        if "error" in row and "item" not in row:
            raise RowError(str(row["error"]))
        item = row.get("item")
        if not isinstance(item, dict):
            raise RowError("the row has no 'item' object")
        if self.validator is not None:
            problem = next(iter(self.validator.iter_errors(item)), None)
            if problem is not None:
                path = "item" + "".join(
                    f"[{p}]" if isinstance(p, int) else f".{p}" for p in problem.absolute_path
                )
                raise RowError(f"the item does not match the eval's item_schema at {path}: {problem.message}")
        return item

    async def _sampled(self, item: JSONObject) -> tuple[JSONObject, JSONObject, list[ModelUsage]]:
        """(the sample namespace, the output item's ``sample``, usage) of a completions run's row."""
        source = self.data_source
        messages_spec = source.get("input_messages")
        assert isinstance(messages_spec, dict)  # checked with the run
        context = {"item": item}
        if messages_spec.get("type") == "item_reference":
            found = template.resolve(str(messages_spec.get("item_reference")), context)
            if not isinstance(found, list):
                raise RowError(f"{messages_spec.get('item_reference')} is not a list of messages")
            messages: list[JsonValue] = found
        else:
            messages = []
            for message in messages_spec.get("template") or []:  # type: ignore[union-attr]
                assert isinstance(message, dict)
                content = message.get("content")
                text = content.get("text") if isinstance(content, dict) else content
                messages.append(
                    {"role": message.get("role"), "content": template.render(str(text or ""), context)}
                )
        params = sampling_params(source)
        model = str(source.get("model"))
        body: JSONObject = {"model": model, "messages": messages, **params}
        completion = await self.grader.chat.complete(parse_chat_request(body), self.grader.tenant)
        fmt = params.get("response_format")
        wants_json = isinstance(fmt, dict) and fmt.get("type") in ("json_schema", "json_object")
        usage = completion.usage
        shown: JSONObject = {
            "input": messages,
            "output": [{"role": "assistant", "content": completion.choices[0].message.content or ""}],
            "finish_reason": completion.choices[0].finish_reason,
            "model": completion.model,
            "usage": {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                      "total_tokens": usage.total_tokens, "cached_tokens": 0},
            "error": None,
            "temperature": params.get("temperature", 1.0),
            "max_completion_tokens": params.get("max_completion_tokens", 0),
            "top_p": params.get("top_p", 1.0),
            "seed": params.get("seed", 42),
        }  # fmt: skip
        return _sample_namespace(completion, wants_json), shown, [usage_of(model, completion)]

    async def grade(self, tenant: str, run_id: str, index: int, row: JsonValue, now: int) -> RowOutcome:
        """The row's output item (a model that is down raises: the runner tries the row again)."""
        used: list[ModelUsage] = []
        item: JsonValue = row.get("item") if isinstance(row, dict) else None
        shown_sample: JSONObject | None = None
        results: list[JsonValue] = []
        verdicts = ""
        try:
            checked = self._item(row)
            if self.data_source.get("type") == "completions":
                try:
                    sample, shown_sample, used = await self._sampled(checked)
                except template.MissingVariable as exc:
                    raise RowError(f"invalid_variable_error: {exc}") from exc
                except JuristError as exc:
                    if exc.status_code >= 500 or exc.status_code == 429:
                        raise
                    raise RowError(f"sampling failed: {exc.message}") from exc
            elif self.data_source.get("type") == SOURCE_TYPE:  # two runs' answers, paired
                given = row.get("sample") if isinstance(row, dict) else None
                if not isinstance(given, dict):
                    raise RowError(str(row.get("error") if isinstance(row, dict) else "no answers"))
                sample, shown_sample = given, shown_pair(given)
            else:
                sample = _given_sample(row)  # type: ignore[arg-type]
                shown_sample = _shown_given(sample)
            context = {"item": checked, "sample": sample}
            for criterion in self.criteria:
                graded: Graded = await self.grader.grade(criterion, context)
                used += graded.usage
                results.append(graded.result(criterion))
                verdicts += "E" if graded.error is not None else "P" if graded.passed else "F"
            status = "error" if "E" in verdicts else "fail" if "F" in verdicts else "pass"
            error: JSONObject | None = None
        except RowError as exc:
            status, verdicts = "error", "E" * len(self.criteria)
            error = {"code": "invalid_row", "message": str(exc)}
            results = [
                {"name": c.get("name"), "score": 0.0, "passed": False, "error": str(exc)}
                for c in self.criteria
            ]
        sample_out: JSONObject = shown_sample if shown_sample is not None else _shown_given({})
        if error is not None:
            sample_out = {**sample_out, "error": error}
        body: JSONObject = {"datasource_item": item if isinstance(item, dict) else {}, "results": results,
                            "sample": sample_out}  # fmt: skip
        key = digest(item) if isinstance(item, dict) else digest(row)
        scores = tuple(_score(r) for r in results)
        record = OutputItemRecord(
            new_id("outputitem_"), tenant, run_id, index, status, verdicts, body, now, key, scores
        )
        return RowOutcome(record, used)


def _score(result: JsonValue) -> float | None:
    """A criterion's score for comparisons: None when it errored."""
    if not isinstance(result, dict) or result.get("error") is not None:
        return None
    score = result.get("score")
    return float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None


def _shown_given(sample: Mapping[str, JsonValue]) -> JSONObject:
    """A jsonl row's sample in the output item's shape (no model was called: OpenAI's sampling defaults,
    ``max_completion_tokens`` 0 when the row does not say)."""
    text = sample.get("output_text")

    def given(key: str, default: JsonValue) -> JsonValue:
        value = sample.get(key)
        return default if value is None else value

    return {
        "input": [],
        "output": [{"role": "assistant", "content": text}] if isinstance(text, str) else [],
        "finish_reason": given("finish_reason", "stop"), "model": given("model", ""),
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "cached_tokens": 0},
        "error": None, "temperature": given("temperature", 1.0),
        "max_completion_tokens": given("max_completion_tokens", 0), "top_p": given("top_p", 1.0),
        "seed": given("seed", 42),
    }  # fmt: skip
