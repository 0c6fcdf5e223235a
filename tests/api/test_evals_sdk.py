"""The OpenAI Evals API with the official SDK, only ``base_url`` changed: evals, runs on the batch runner,
output items, paging, cancel, delete; every answer checked against OpenAI's published schemas."""

from __future__ import annotations

import io
import time
from typing import Any

import orjson
import pytest
from openai import BadRequestError, NotFoundError, OpenAI

from jurist.backends.fake import FakeBackend
from tests.support.evals_schema import validate
from tests.support.live import LiveServer
from tests.support.services import API_KEY
from tests.support.verdicts import pairwise_verdict_json

SCHEMA = {
    "type": "object",
    "properties": {"question": {"type": "string"}, "answer": {"type": "string"}},
    "required": ["question", "answer"],
}
CRITERIA: list[Any] = [
    {"type": "string_check", "name": "exact", "input": "{{ sample.output_text }}", "reference": "{{item.answer}}",
     "operation": "eq"},
    {"type": "text_similarity", "name": "close", "input": "{{sample.output_text}}", "reference": "{{ item.answer }}",
     "evaluation_metric": "fuzzy_match", "pass_threshold": 0.8},
]  # fmt: skip
ROWS = [
    {"item": {"question": "2+2?", "answer": "4"}, "sample": {"output_text": "4"}},
    {"item": {"question": "Capital of France?", "answer": "Paris"}, "sample": {"output_text": "Pariss"}},
    {"item": {"question": "Colour of the sky?", "answer": "blue"}, "sample": {"output_text": "green"}},
    {"item": {"question": "No answer"}, "sample": {"output_text": "x"}},  # does not match the item schema
]


def an_eval(client: OpenAI, criteria: list[Any] | None = None) -> Any:
    return client.evals.create(
        name="qa",
        data_source_config={"type": "custom", "item_schema": SCHEMA, "include_sample_schema": True},
        testing_criteria=criteria or CRITERIA,
        metadata={"team": "search"},
    )


def finished(client: OpenAI, eval_id: str, run_id: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        run = client.evals.runs.retrieve(run_id, eval_id=eval_id)
        if run.status in ("completed", "failed", "canceled"):
            return run
        assert time.monotonic() < deadline, run.status
        time.sleep(0.1)


def raw(obj: Any) -> dict[str, Any]:
    return orjson.loads(obj.to_json()) if hasattr(obj, "to_json") else obj


def test_an_eval_is_created_listed_updated_and_deleted(client: OpenAI) -> None:
    made = an_eval(client)
    validate("Eval", raw(made))
    assert made.object == "eval" and made.data_source_config.type == "custom"
    assert made.data_source_config.schema_["properties"]["item"] == SCHEMA  # type: ignore[union-attr]
    assert made.data_source_config.schema_["required"] == ["item", "sample"]  # type: ignore[union-attr]
    assert [c.name for c in made.testing_criteria] == ["exact", "close"]
    assert all(raw(c)["id"].startswith(f"{c.name}-") for c in made.testing_criteria)
    others = [an_eval(client) for _ in range(4)]
    seen = [e.id for e in client.evals.list(limit=2)]  # the SDK pages on until has_more is false
    assert seen == [made.id, *(e.id for e in others)]
    assert [e.id for e in client.evals.list(order="desc", limit=3)][:2] == [others[-1].id, others[-2].id]
    updated = client.evals.update(made.id, name="renamed", metadata={"team": "ads"})
    assert updated.name == "renamed" and updated.metadata == {"team": "ads"}
    got = client.evals.retrieve(made.id)
    assert got.name == "renamed" and len(got.testing_criteria) == 2
    deleted = client.evals.delete(made.id)
    assert deleted.deleted and deleted.eval_id == made.id and deleted.object == "eval.deleted"
    with pytest.raises(NotFoundError):
        client.evals.retrieve(made.id)


def test_a_jsonl_run_grades_every_row_and_counts_them(client: OpenAI) -> None:
    made = an_eval(client)
    run = client.evals.runs.create(
        made.id,
        name="baseline",
        data_source={"type": "jsonl", "source": {"type": "file_content", "content": ROWS}},
    )
    validate("EvalRun", raw(run))
    assert run.status in ("queued", "in_progress") and run.report_url.endswith(f"/runs/{run.id}")
    done = finished(client, made.id, run.id)
    validate("EvalRun", raw(done))
    assert done.status == "completed"
    assert done.result_counts.model_dump() == {"total": 4, "errored": 1, "failed": 2, "passed": 1}
    per = {r.testing_criteria.split("-")[0]: (r.passed, r.failed) for r in done.per_testing_criteria_results}
    assert per == {"exact": (1, 2), "close": (2, 1)}  # "Pariss" is close to "Paris", not equal
    items = list(client.evals.runs.output_items.list(run.id, eval_id=made.id, limit=2))
    assert [i.datasource_item_id for i in items] == [0, 1, 2, 3]
    for item in items:
        validate("EvalRunOutputItem", raw(item))
    assert [i.status for i in items] == ["pass", "fail", "fail", "error"]
    second = items[1]
    assert [(r.name, r.passed) for r in second.results] == [("exact", False), ("close", True)]
    assert second.results[1].score == pytest.approx(0.909, abs=0.01)
    assert "item_schema" in items[3].sample.error.message  # type: ignore[union-attr]
    failed = client.evals.runs.output_items.list(run.id, eval_id=made.id, status="fail")
    assert [i.datasource_item_id for i in failed] == [1, 2]
    one = client.evals.runs.output_items.retrieve(second.id, eval_id=made.id, run_id=run.id)
    assert one.id == second.id and one.datasource_item == ROWS[1]["item"]


def test_a_run_reads_an_uploaded_file_of_purpose_evals(client: OpenAI) -> None:
    made = an_eval(client)
    text = b"".join(orjson.dumps(r) + b"\n" for r in ROWS[:3])
    file = client.files.create(file=("rows.jsonl", io.BytesIO(text)), purpose="evals")
    run = client.evals.runs.create(
        made.id, data_source={"type": "jsonl", "source": {"type": "file_id", "id": file.id}}
    )
    done = finished(client, made.id, run.id)
    assert done.result_counts.total == 3 and done.result_counts.passed == 1
    wrong = client.files.create(file=("rows.jsonl", io.BytesIO(text)), purpose="batch")
    with pytest.raises(BadRequestError) as refused:
        client.evals.runs.create(
            made.id, data_source={"type": "jsonl", "source": {"type": "file_id", "id": wrong.id}}
        )
    assert refused.value.param == "data_source.source.id"  # type: ignore[attr-defined]


def test_a_completions_run_samples_the_model_and_a_score_model_grades_it(
    client: OpenAI, fake: FakeBackend
) -> None:
    fake.default = '{"steps": [], "result": 0.75}'
    criteria = [
        {"type": "score_model", "name": "judge", "model": "pai-judge-plus", "range": [0, 1], "pass_threshold": 0.5,
         "input": [{"role": "user", "content": "Rate {{sample.output_text}} for {{item.question}}"}]},
        {"type": "string_check", "name": "has", "input": "{{sample.output_text}}", "reference": "result",
         "operation": "like"},
    ]  # fmt: skip
    made = an_eval(client, criteria)
    source = {
        "type": "completions", "model": "pai-judge",
        "input_messages": {"type": "template", "template": [{"role": "user", "content": "Answer: {{item.question}}"}]},
        "sampling_params": {"temperature": 0, "seed": 7, "max_completion_tokens": 50},
        "source": {"type": "file_content", "content": [{"item": r["item"]} for r in ROWS[:2]]},
    }  # fmt: skip
    run = client.evals.runs.create(made.id, data_source=source)  # type: ignore[arg-type]
    done = finished(client, made.id, run.id)
    assert done.status == "completed" and done.result_counts.passed == 2
    assert done.model == "pai-judge"
    used = {u.model_name: u.invocation_count for u in done.per_model_usage}  # type: ignore[union-attr]
    assert used == {"pai-judge": 2, "pai-judge-plus": 2}
    report = client.get("/usage?group_by=model", cast_to=object)  # each model's calls in its own usage
    rows = {row["model"]: row for row in raw(report)["data"]}  # type: ignore[arg-type]
    assert rows["pai-judge"]["judge_calls"] == 2 and rows["pai-judge-plus"]["judge_calls"] == 2
    assert rows["pai-judge"]["batch_lines"] == 2 and rows["pai-judge-plus"]["batch_lines"] == 0
    item = next(iter(client.evals.runs.output_items.list(run.id, eval_id=made.id)))
    assert item.sample.model == "pai-judge" and item.sample.seed == 7
    assert item.sample.input[0].content == "Answer: 2+2?"
    assert item.results[0].score == pytest.approx(0.75)
    judged = item.results[0].sample
    assert judged["parsed_by"] == "json" and judged["confidence"] == 0.5  # type: ignore[index]  # no logprobs here
    prompts = [m["content"] for request in fake.history for m in request.messages if m["role"] == "user"]
    assert "Answer: 2+2?" in prompts and any(str(p).startswith("Rate {") for p in prompts)


def test_cancel_on_both_paths_and_delete(client: OpenAI, server: LiveServer) -> None:
    made = an_eval(client)
    content = [ROWS[0]] * 3
    run = client.evals.runs.create(
        made.id, data_source={"type": "jsonl", "source": {"type": "file_content", "content": content}}
    )
    canceled = client.post(f"/evals/{made.id}/runs/{run.id}", cast_to=object)  # the older SDKs' path
    assert raw(canceled)["status"] in ("canceled", "completed")
    again = client.evals.runs.cancel(run.id, eval_id=made.id)  # the newer path: an ended run stays as it is
    assert again.status == raw(canceled)["status"]
    listed = client.evals.runs.list(made.id, status=again.status)
    assert [r.id for r in listed] == [run.id]
    gone = client.evals.runs.delete(run.id, eval_id=made.id)
    assert gone.deleted and gone.run_id == run.id
    with pytest.raises(NotFoundError):
        client.evals.runs.retrieve(run.id, eval_id=made.id)


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"testing_criteria": [{"type": "regex", "name": "x"}]}, "testing_criteria[0].type"),
        ({"testing_criteria": [{**CRITERIA[0], "input": "{{ item.answer"}]}, "testing_criteria[0].input"),
        ({"testing_criteria": [{**CRITERIA[0], "input": "{{ answer.x }}"}]}, "testing_criteria[0].input"),
        ({"testing_criteria": [{**CRITERIA[1], "pass_threshold": None}]}, "testing_criteria[0].pass_threshold"),
        ({"testing_criteria": [{"type": "multi", "name": "m", "graders": {}, "calculate_output": "1"}]},
         "testing_criteria[0].type"),
        ({"testing_criteria": [{"type": "python", "name": "p", "source": "def grade(s, i): return 1"}]},
         "testing_criteria[0].type"),
        ({"testing_criteria": [{**CRITERIA[0], "model": "x", "type": "score_model", "input": []}]},
         "testing_criteria[0].model"),
        ({"data_source_config": {"type": "logs"}}, "data_source_config.type"),
        ({"data_source_config": {"type": "custom", "item_schema": {"type": 7}}}, "data_source_config.item_schema"),
        ({"testing_criteria": []}, "testing_criteria"),
    ],
)  # fmt: skip
def test_bad_evals_are_a_400_naming_the_parameter(client: OpenAI, change: dict[str, Any], param: str) -> None:
    body = {
        "data_source_config": {"type": "custom", "item_schema": SCHEMA},
        "testing_criteria": CRITERIA,
        **change,
    }
    with pytest.raises(BadRequestError) as refused:
        client.evals.create(**body)
    assert refused.value.param == param, refused.value.message  # type: ignore[attr-defined]


def test_bad_runs_are_a_400_and_leave_nothing_behind(client: OpenAI) -> None:
    made = an_eval(client)
    cases = [
        ({"type": "responses", "source": {"type": "file_content", "content": ROWS}}, "data_source.type"),
        ({"type": "jsonl", "source": {"type": "stored_completions"}}, "data_source.source.type"),
        ({"type": "completions", "model": "nope", "source": {"type": "file_content", "content": ROWS}},
         "data_source.model"),
        ({"type": "jsonl", "source": {"type": "file_content", "content": []}}, "data_source.source"),
        ({"type": "jsonl", "source": {"type": "file_id", "id": "file-missing"}}, "data_source.source.id"),
    ]  # fmt: skip
    for source, param in cases:
        with pytest.raises((BadRequestError, NotFoundError)) as refused:
            client.evals.runs.create(made.id, data_source=source)  # type: ignore[arg-type]
        assert refused.value.param == param, refused.value.message  # type: ignore[attr-defined]
    assert list(client.evals.runs.list(made.id)) == []


def test_another_tenant_gets_404_everywhere(client: OpenAI, server: LiveServer) -> None:
    made = an_eval(client)
    run = client.evals.runs.create(
        made.id, data_source={"type": "jsonl", "source": {"type": "file_content", "content": ROWS[:1]}}
    )
    finished(client, made.id, run.id)
    item = next(iter(client.evals.runs.output_items.list(run.id, eval_id=made.id)))
    other = server.sdk(API_KEY, **{"X-On-Behalf-Of": "someone-else"})
    calls = [
        lambda: other.evals.retrieve(made.id),
        lambda: other.evals.update(made.id, name="x"),
        lambda: other.evals.delete(made.id),
        lambda: other.evals.runs.retrieve(run.id, eval_id=made.id),
        lambda: other.evals.runs.cancel(run.id, eval_id=made.id),
        lambda: other.evals.runs.delete(run.id, eval_id=made.id),
        lambda: other.evals.runs.create(
            made.id, data_source={"type": "jsonl", "source": {"type": "file_content", "content": ROWS}}
        ),
        lambda: list(other.evals.runs.output_items.list(run.id, eval_id=made.id)),
        lambda: other.evals.runs.output_items.retrieve(item.id, eval_id=made.id, run_id=run.id),
    ]
    for call in calls:
        with pytest.raises(NotFoundError):
            call()
    assert list(other.evals.list()) == []
    assert client.evals.retrieve(made.id).name == "qa"


def test_a_run_records_what_it_was_graded_with(client: OpenAI, server: LiveServer) -> None:
    made = an_eval(client)
    first = client.evals.runs.create(
        made.id, data_source={"type": "jsonl", "source": {"type": "file_content", "content": ROWS}}
    )
    other_samples = [{**r, "sample": {"output_text": "changed"}} for r in ROWS]
    second = client.evals.runs.create(
        made.id, data_source={"type": "jsonl", "source": {"type": "file_content", "content": other_samples}}
    )
    fewer = client.evals.runs.create(
        made.id, data_source={"type": "jsonl", "source": {"type": "file_content", "content": ROWS[:2]}}
    )
    runs = [client.evals.runs.retrieve(r.id, eval_id=made.id) for r in (first, second, fewer)]
    digests = [raw(r)["jurist"]["digests"] for r in runs]
    assert digests[0] == digests[1]  # the same items and graders: comparable (their samples differ)
    assert digests[2]["items"] != digests[0]["items"] and digests[2]["criteria"] == digests[0]["criteria"]
    assert set(digests[0]["criteria"]) == {"exact", "close"} and digests[0]["rows"] == 4


def test_labels_of_a_judged_run_feed_its_judges_calibration(client: OpenAI, fake: FakeBackend) -> None:
    fake.default = pairwise_verdict_json(5, 2, "response_1")
    judge = {"type": "jurist_judge", "name": "better", "model": "pai-judge", "mode": "pairwise",
             "question": "{{item.question}}", "answer1": "{{sample.output_text}}", "answer2": "{{item.answer}}"}  # fmt: skip
    made = an_eval(client, [judge])
    rows = [{"item": {"question": f"Q{i}?", "answer": "short"}, "sample": {"output_text": f"A longer answer {i}."}}
            for i in range(12)]  # fmt: skip
    run = client.evals.runs.create(
        made.id, data_source={"type": "jsonl", "source": {"type": "file_content", "content": rows}}
    )
    done = finished(client, made.id, run.id)
    assert done.result_counts.passed == 12
    item = next(iter(client.evals.runs.output_items.list(run.id, eval_id=made.id)))
    assert item.results[0].sample["judgment"]["winner"] == "response_1"  # type: ignore[index]
    batch_id = raw(done)["jurist"]["batch_id"]
    labels = [{"custom_id": f"row-{i}", "label": "1" if i % 4 else "2"} for i in range(12)]
    posted = client.post(f"/batches/{batch_id}/labels", body=labels, cast_to=object)
    calibrations = raw(posted)["calibrations"]  # type: ignore[arg-type]
    assert [(c["model"], c["mode"]) for c in calibrations] == [("pai-judge", "pairwise")]
    fitted = client.get(f"/calibrations/{calibrations[0]['id']}", cast_to=object)
    assert raw(fitted)["items"] == 12 and raw(fitted)["agreement"] == pytest.approx(9 / 12)  # type: ignore[arg-type]
