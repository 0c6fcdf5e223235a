"""GET /v1/evals/{eval_id}/runs/compare: is the candidate run better than the base? Paired per row, per
criterion and overall, refused when the runs were not graded alike; answers checked against the schema
``/openapi.json`` documents."""

from __future__ import annotations

import random
import time
from typing import Any

import orjson
import pytest
from openai import BadRequestError, NotFoundError, OpenAI

from jurist.api.openapi_compare import EvalRunsComparison
from tests.support.live import LiveServer
from tests.support.services import API_KEY

CRITERIA: list[Any] = [
    {"type": "string_check", "name": "exact", "input": "{{sample.output_text}}", "reference": "{{item.answer}}",
     "operation": "eq"},
    {"type": "text_similarity", "name": "close", "input": "{{sample.output_text}}",
     "reference": "{{item.answer}}", "evaluation_metric": "fuzzy_match", "pass_threshold": 0.9},
]  # fmt: skip


def rows(n: int, right: float, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        answer = f"answer number {i}"
        said = answer if rng.random() < right else f"something else {i}"
        out.append({"item": {"question": f"Q{i}?", "answer": answer}, "sample": {"output_text": said}})
    return out


def run(client: OpenAI, eval_id: str, content: list[dict[str, Any]]) -> str:
    made = client.evals.runs.create(
        eval_id, data_source={"type": "jsonl", "source": {"type": "file_content", "content": content}}
    )
    while client.evals.runs.retrieve(made.id, eval_id=eval_id).status != "completed":
        time.sleep(0.1)
    return made.id


def compare(client: OpenAI, eval_id: str, base: str, candidate: str, **query: str) -> dict[str, Any]:
    params = "&".join(f"{k}={v}" for k, v in {"base": base, "candidate": candidate, **query}.items())
    answer = client.get(f"/evals/{eval_id}/runs/compare?{params}", cast_to=object)
    found: dict[str, Any] = orjson.loads(orjson.dumps(answer))
    EvalRunsComparison.model_validate(found)  # the documented shape
    return found


@pytest.fixture
def eval_id(client: OpenAI) -> str:
    return client.evals.create(
        data_source_config={
            "type": "custom",
            "item_schema": {"type": "object"},
            "include_sample_schema": True,
        },
        testing_criteria=CRITERIA,
    ).id


def test_a_better_candidate_is_better_and_a_worse_one_worse(client: OpenAI, eval_id: str) -> None:
    base = run(client, eval_id, rows(300, 0.5, seed=1))
    better = run(client, eval_id, rows(300, 0.8, seed=2))
    found = compare(client, eval_id, base, better)
    assert found["items"]["paired"] == 300 and found["items"]["only_in_base"] == 0
    assert found["overall"]["decision"] == "better" and found["overall"]["test"] == "mcnemar_exact"
    exact = found["criteria"][0]
    assert exact["name"] == "exact" and exact["pass"]["decision"] == "better"
    assert exact["pass"]["ci_low"] > 0 and exact["pass"]["p_adjusted"] < 0.05
    assert exact["score"]["test"] == "wilcoxon"
    assert found["items"]["improved"] > found["items"]["regressed"]
    assert found["diffs"] and found["diffs"][0]["base"] != found["diffs"][0]["candidate"]
    backwards = compare(client, eval_id, better, base, diffs="0")
    assert backwards["overall"]["decision"] == "worse" and backwards["diffs"] == []
    same = compare(client, eval_id, base, base)
    assert same["overall"]["delta"] == 0 and same["overall"]["decision"] in ("equivalent", "inconclusive")
    one = compare(client, eval_id, base, better, criterion="close")
    assert [c["name"] for c in one["criteria"]] == ["close"]


def test_runs_over_other_items_are_refused_unless_asked(client: OpenAI, eval_id: str) -> None:
    base = run(client, eval_id, rows(40, 0.5, seed=1))
    fewer = run(client, eval_id, rows(30, 0.5, seed=1))
    with pytest.raises(BadRequestError) as refused:
        compare(client, eval_id, base, fewer)
    assert refused.value.param == "candidate" and "items" in refused.value.message  # type: ignore[attr-defined]
    found = compare(client, eval_id, base, fewer, allow_mismatch="true")
    assert found["items"]["paired"] == 30 and found["items"]["only_in_base"] == 10
    assert found["mismatches"] == ["the items (the dataset)"]


def test_bad_parameters_and_other_runs(client: OpenAI, eval_id: str, server: LiveServer) -> None:
    base = run(client, eval_id, rows(10, 0.5, seed=1))
    other_eval = client.evals.create(
        data_source_config={"type": "custom", "item_schema": {"type": "object"}}, testing_criteria=CRITERIA
    ).id
    elsewhere = run(client, other_eval, rows(10, 0.5, seed=1))
    for query, param in (({"margin": "0"}, "margin"), ({"margin": "1"}, "margin"), ({"alpha": "0.6"}, "alpha"),
                         ({"alpha": "x"}, "alpha"), ({"criterion": "nope"}, "criterion")):  # fmt: skip
        with pytest.raises(BadRequestError) as refused:
            compare(client, eval_id, base, base, **query)
        assert refused.value.param == param  # type: ignore[attr-defined]
    for candidate in ("evalrun_missing", elsewhere):  # unknown, or a run of another eval
        with pytest.raises(NotFoundError) as missing:
            compare(client, eval_id, base, candidate)
        assert missing.value.param == "candidate"  # type: ignore[attr-defined]
    stranger = server.sdk(API_KEY, **{"X-On-Behalf-Of": "someone-else"})
    with pytest.raises(NotFoundError):
        compare(stranger, eval_id, base, base)
    with pytest.raises(BadRequestError) as unnamed:
        client.get(f"/evals/{eval_id}/runs/compare?base={base}", cast_to=object)
    assert unnamed.value.param == "candidate"  # type: ignore[attr-defined]
