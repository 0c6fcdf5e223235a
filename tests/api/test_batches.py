"""The seed's five-step batch workflow and the Files/Batch API contract, through the official SDK."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from jurist.backends.fake import FakeBackend
from tests.support.batches import SEED_INPUT, upload, wait_for
from tests.support.http import request
from tests.support.live import LiveServer
from tests.support.openapi import validate, validate_nullable
from tests.support.services import API_KEY
from tests.support.verdicts import single_verdict_json


def test_seed_five_step_workflow(client: OpenAI, fake: FakeBackend, tmp_path: Path) -> None:
    fake.default = single_verdict_json(3)
    path = tmp_path / "input.jsonl"
    path.write_text(SEED_INPUT)
    # step 2: upload
    with path.open("rb") as fh:
        raw = client.files.with_raw_response.create(file=fh, purpose="batch")
    validate("OpenAIFile", raw.http_response.json())
    uploaded = raw.parse()
    assert (
        uploaded.purpose == "batch"
        and uploaded.bytes == len(SEED_INPUT.encode())
        and uploaded.filename == "input.jsonl"
    )
    # step 3: create
    raw_batch = client.batches.with_raw_response.create(
        endpoint="/v1/chat/completions", input_file_id=uploaded.id, completion_window="24h"
    )
    created_json = raw_batch.http_response.json()
    validate_nullable("Batch", created_json)
    assert created_json["status"] == "validating" and created_json["request_counts"] == {
        "total": 0,
        "completed": 0,
        "failed": 0,
    }
    assert created_json["expires_at"] == created_json["created_at"] + 86400
    # step 4: poll
    done = wait_for(client, created_json["id"], {"completed", "failed"})
    assert done.status == "completed", done
    validate_nullable("Batch", client.batches.with_raw_response.retrieve(done.id).http_response.json())
    assert done.request_counts is not None and (done.request_counts.total, done.request_counts.completed) == (
        2,
        2,
    )
    assert done.output_file_id and done.error_file_id is None
    assert done.in_progress_at and done.finalizing_at and done.completed_at
    assert done.model == "pai-judge,pai-judge-plus"
    assert done.usage is not None and done.usage.total_tokens > 0
    # step 5: download and join by custom_id
    content = client.files.content(done.output_file_id).text
    lines = [json.loads(line) for line in content.splitlines()]
    by_id = {line["custom_id"]: line for line in lines}
    assert set(by_id) == {"request-1", "request-2"}
    for custom_id, model in (("request-1", "pai-judge"), ("request-2", "pai-judge-plus")):
        line = by_id[custom_id]
        assert line["error"] is None and line["id"].startswith("batch_req_")
        assert line["response"]["status_code"] == 200 and line["response"]["request_id"].startswith("req_")
        body = line["response"]["body"]
        validate("CreateChatCompletionResponse", body)
        assert body["model"] == model and body["judgment"]["overall_score"] == 3
        assert body["choices"][0]["message"]["content"].startswith(
            "I think the overall score for this response is [[3]]"
        )
    output_file = client.files.retrieve(done.output_file_id)
    assert output_file.purpose == "batch_output" and output_file.bytes == len(content.encode())


def test_seed_batch_curl_without_content_type(
    server: LiveServer, client: OpenAI, fake: FakeBackend, tmp_path: Path
) -> None:
    fake.default = single_verdict_json(4)
    file_id = upload(client, tmp_path, SEED_INPUT)
    body = (
        "{\n"
        f'      "input_file_id": "{file_id}",\n'
        '      "endpoint": "/v1/chat/completions",\n'
        '      "completion_window": "24h"\n'
        "  }"
    )
    resp = request(
        "POST", server.base_url + "/batches", body,
        {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert resp.status == 200, resp.body
    assert wait_for(client, resp.json()["id"], {"completed"}).request_counts.completed == 2


def test_validation_failures_are_reported_per_line(client: OpenAI, tmp_path: Path) -> None:
    good = json.loads(SEED_INPUT.splitlines()[0])
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"custom_id": "x"}),
        json.dumps({**good, "custom_id": "request-1"}),
        json.dumps({**good, "custom_id": "u", "url": "/v1/embeddings"}),
        json.dumps({"custom_id": "m", "body": {**good["body"], "model": "gpt-9"}}),
        json.dumps({"custom_id": "s", "body": {**good["body"], "stream": True}}),
        "[1]",
    ]
    file_id = upload(client, tmp_path, "\n".join(lines) + "\n")
    batch = client.batches.create(
        endpoint="/v1/chat/completions", input_file_id=file_id, completion_window="24h"
    )
    failed = wait_for(client, batch.id, {"failed", "completed"})
    assert failed.status == "failed" and failed.failed_at
    assert failed.errors is not None
    got = [(e.line, e.code) for e in failed.errors.data or []]
    assert got == [
        (2, "invalid_json_line"),
        (3, "missing_required_parameter"),
        (4, "duplicate_custom_id"),
        (5, "invalid_url"),
        (6, "model_not_found"),
        (7, "streaming_unsupported"),
        (8, "invalid_request"),
    ]
    empty = upload(client, tmp_path, "\n\n", "empty.jsonl")
    batch = client.batches.create(
        endpoint="/v1/chat/completions", input_file_id=empty, completion_window="24h"
    )
    failed = wait_for(client, batch.id, {"failed"})
    assert failed.errors and failed.errors.data and failed.errors.data[0].code == "empty_file"


def test_per_request_errors_go_to_the_error_file(client: OpenAI, fake: FakeBackend, tmp_path: Path) -> None:
    fake.default = single_verdict_json(2)
    good = json.loads(SEED_INPUT.splitlines()[0])
    bad = {
        "custom_id": "bad",
        "body": {
            "model": "pai-judge",
            "messages": [
                {
                    "role": "user",
                    "content": [{"mode": "single", "type": "json", "json": {"answer": "no question"}}],
                }
            ],
        },
    }
    file_id = upload(client, tmp_path, json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    batch = client.batches.create(
        endpoint="/v1/chat/completions", input_file_id=file_id, completion_window="24h"
    )
    done = wait_for(client, batch.id, {"completed"})
    assert done.request_counts is not None and (
        done.request_counts.completed,
        done.request_counts.failed,
    ) == (1, 1)
    assert done.output_file_id and done.error_file_id
    errors = [json.loads(x) for x in client.files.content(done.error_file_id).text.splitlines()]
    assert len(errors) == 1 and errors[0]["custom_id"] == "bad" and errors[0]["error"] is None
    assert errors[0]["response"]["status_code"] == 400
    assert errors[0]["response"]["body"]["error"]["param"] == "messages[0].content[0].json.question"


def test_file_listing_pagination_and_deletion(client: OpenAI, tmp_path: Path) -> None:
    ids = [upload(client, tmp_path, SEED_INPUT, f"f{i}.jsonl") for i in range(5)]
    listed = [f.id for f in client.files.list(limit=2)]
    assert listed == list(reversed(ids))
    ascending = [f.id for f in client.files.list(limit=2, order="asc")]
    assert ascending == ids
    page = client.files.list(limit=5)
    assert page.has_more is False
    raw = client.files.with_raw_response.list(limit=2).http_response.json()
    validate("ListFilesResponse", raw)
    assert raw["has_more"] is True and raw["first_id"] == ids[-1]
    deleted = client.files.delete(ids[0])
    assert deleted.deleted is True and deleted.id == ids[0]
    with pytest.raises(openai.NotFoundError) as info:
        client.files.retrieve(ids[0])
    assert info.value.message.startswith("No such File object") or "No such File object" in str(info.value)


def test_batch_listing_pagination(client: OpenAI, fake: FakeBackend, tmp_path: Path) -> None:
    fake.default = single_verdict_json(3)
    file_id = upload(client, tmp_path, SEED_INPUT)
    ids = [
        client.batches.create(
            endpoint="/v1/chat/completions", input_file_id=file_id, completion_window="24h"
        ).id
        for _ in range(3)
    ]
    assert [b.id for b in client.batches.list(limit=1)] == list(reversed(ids))
    listing = client.batches.with_raw_response.list(limit=2).http_response.json()
    for item in listing["data"]:
        validate_nullable("Batch", item)
    validate(
        "ListBatchesResponse",
        {**listing, "data": [{k: v for k, v in b.items() if v is not None} for b in listing["data"]]},
    )
    for bad in (0, 101):
        with pytest.raises(openai.BadRequestError) as info:
            client.batches.list(limit=bad)
        assert info.value.code in ("integer_below_min_value", "integer_above_max_value")


def test_idempotency_key_makes_create_safe_to_retry(
    server: LiveServer, client: OpenAI, tmp_path: Path
) -> None:
    file_id = upload(client, tmp_path, SEED_INPUT)
    body = json.dumps(
        {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    )
    headers = {"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": "nightly-2026-11-22"}
    first = request("POST", server.base_url + "/batches", body, headers).json()
    second = request("POST", server.base_url + "/batches", body, headers).json()
    assert first["id"] == second["id"]
    other = request("POST", server.base_url + "/batches", body, {**headers, "X-On-Behalf-Of": "someone"})
    assert other.status == 404  # keys are per tenant: another tenant never gets this batch back
    plain = client.batches.create(
        endpoint="/v1/chat/completions", input_file_id=file_id, completion_window="24h"
    )
    assert plain.id != first["id"]
    assert len(list(client.batches.list())) == 2
