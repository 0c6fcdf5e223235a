"""Runs and output items as the OpenAI Evals API shows them (``eval.run``, ``eval.run.output_item``).

A run's counts come from its output items: ``result_counts`` (``total = passed + failed + errored``, the
rows graded so far), ``per_testing_criteria_results`` (per criterion id: rows it passed and failed; an
errored criterion counts in neither), and ``per_model_usage`` (every model the run called: sampling and
model graders; a judge-cache hit is an invocation-free ``cached_tokens``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import orjson

from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.store.eval_records import EvalRunRecord, ModelUsage, OutputItemRecord, RunCounts


def criteria_results(criteria: Sequence[JsonValue], counts: RunCounts) -> list[JsonValue]:
    out: list[JsonValue] = []
    for k, criterion in enumerate(criteria):
        passed = sum(n for v, n in counts.verdicts.items() if len(v) > k and v[k] == "P")
        failed = sum(n for v, n in counts.verdicts.items() if len(v) > k and v[k] == "F")
        ident = criterion.get("id") if isinstance(criterion, dict) else None
        out.append({"testing_criteria": ident, "passed": passed, "failed": failed})
    return out


def _usage(u: ModelUsage) -> JsonValue:
    total = u.prompt_tokens + u.completion_tokens
    return {
        "model_name": u.model, "invocation_count": u.invocations, "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens, "total_tokens": total, "cached_tokens": u.cached_tokens,
    }  # fmt: skip


def _data_source(run: EvalRunRecord) -> JsonValue:
    """The run's data source as it was sent: inline rows spliced back in as stored JSON text (not parsed
    for every poll of a 50,000-row run)."""
    source = run.body.get("data_source")
    spec = source.get("source") if isinstance(source, dict) else None
    if run.content is None or not isinstance(source, dict) or not isinstance(spec, dict):
        return source
    rows = cast(JsonValue, orjson.Fragment(run.content))
    return {**source, "source": {**spec, "content": rows}}


def run_object(
    run: EvalRunRecord,
    criteria: Sequence[JsonValue],
    counts: RunCounts,
    usage: Sequence[ModelUsage],
    base_url: str,
) -> JSONObject:
    body = run.body
    passed, failed = counts.statuses.get("pass", 0), counts.statuses.get("fail", 0)
    errored = counts.statuses.get("error", 0)
    return {
        "object": "eval.run",
        "id": run.id,
        "eval_id": run.eval_id,
        "name": run.name,
        "model": body.get("model") or "",  # a jsonl run evaluates no model of ours
        "status": run.status,
        "created_at": run.created_at,
        "report_url": f"{base_url}/console/evals/{run.eval_id}/runs/{run.id}",
        "result_counts": {
            "total": passed + failed + errored,
            "errored": errored,
            "failed": failed,
            "passed": passed,
        },
        "per_model_usage": [_usage(u) for u in usage],
        "per_testing_criteria_results": criteria_results(criteria, counts),
        "data_source": _data_source(run),
        "metadata": body.get("metadata"),
        "error": run.error,
        # Jurist's extension: what the run was graded with, and the batch that runs it (label its lines)
        "jurist": {"digests": body.get("digests"), "batch_id": run.batch_id},
    }


def item_object(item: OutputItemRecord, eval_id: str) -> JSONObject:
    body = item.body
    return {
        "object": "eval.run.output_item",
        "id": item.id,
        "run_id": item.run_id,
        "eval_id": eval_id,
        "created_at": item.created_at,
        "status": "error" if item.status == "error" else item.status,
        "datasource_item_id": item.index,
        "datasource_item": body.get("datasource_item") or {},
        "results": body.get("results") or [],
        "sample": body.get("sample"),
    }


def listing(data: list[JSONObject], has_more: bool) -> JSONObject:
    ids = [d["id"] for d in data]
    return {
        "object": "list",
        "data": data,  # type: ignore[dict-item]
        "first_id": ids[0] if ids else None,
        "last_id": ids[-1] if ids else None,
        "has_more": has_more,
    }
