"""Cancel, expiry, upstream faults, tenants and gateway variants, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.support.batches import SEED_INPUT, upload, wait_for
from tests.support.http import request
from tests.support.live import ManualClock, StubUpstream, live_server
from tests.support.postgres import reset_postgres
from tests.support.services import API_KEY, FAKE_MODELS, METRICS_AUTH
from tests.support.verdicts import single_verdict_json


def lines(n: int, model: str = "pai-judge") -> str:
    """Distinct requests (identical ones would be served from the judge cache)."""
    return "".join(
        json.dumps(
            {
                "custom_id": f"r{i}",
                "body": {"model": model, "messages": [{"role": "user", "content": f"Rate answer {i}."}]},
            }
        )
        + "\n"
        for i in range(n)
    )


def stub_models(stub: StubUpstream, concurrency: int = 1, **options: Any) -> dict[str, Any]:
    return {
        "pai-judge": {
            "backend": "openai",
            "base_url": stub.base_url,
            "max_concurrency": concurrency,
            **options,
        }
    }


def read_jsonl(client: OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    return [json.loads(x) for x in client.files.content(file_id).text.splitlines()] if file_id else []


@pytest.fixture(params=["sqlite", "postgresql"])
def database_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "sqlite":
        return {}
    url = request.getfixturevalue("postgres_url")
    reset_postgres(url)
    return {"database_url": url}  # files then live in the database (multi-node mode)


def test_seed_workflow_and_cancel_keep_partial_results(
    tmp_path: Path, database_settings: dict[str, Any]
) -> None:
    with (
        StubUpstream("--delay-ms", "150") as stub,
        live_server(tmp_path, models=stub_models(stub), worker_poll_seconds=0.05, **database_settings) as srv,
    ):
        client = srv.sdk()
        batch = client.batches.create(
            endpoint="/v1/chat/completions",
            input_file_id=upload(client, tmp_path, lines(40)),
            completion_window="24h",
        )
        running = wait_for(client, batch.id, {"in_progress"})
        while (running.request_counts.completed or 0) < 2:
            running = client.batches.retrieve(batch.id)
        cancelling = client.batches.cancel(batch.id)
        assert cancelling.status in ("cancelling", "cancelled") and cancelling.cancelling_at
        assert client.batches.cancel(batch.id).status in ("cancelling", "cancelled")  # idempotent
        done = wait_for(client, batch.id, {"cancelled"})
        assert done.cancelled_at and done.request_counts is not None
        output = read_jsonl(client, done.output_file_id)
        assert 2 <= len(output) < 40 and len(output) == done.request_counts.completed
        assert len({o["custom_id"] for o in output}) == len(output)
        with pytest.raises(openai.BadRequestError):
            client.batches.cancel(wait_for(client, client.batches.create(
                endpoint="/v1/chat/completions", input_file_id=upload(client, tmp_path, lines(1), "one.jsonl"),
                completion_window="24h").id, {"completed"}).id)  # fmt: skip


def test_expiry_turns_unfinished_lines_into_errors(tmp_path: Path) -> None:
    clock = ManualClock()
    with (
        StubUpstream("--delay-ms", "200") as stub,
        live_server(tmp_path, models=stub_models(stub), clock=clock, worker_poll_seconds=0.05) as srv,
    ):
        client = srv.sdk()
        batch = client.batches.create(
            endpoint="/v1/chat/completions",
            input_file_id=upload(client, tmp_path, lines(30)),
            completion_window="24h",
        )
        running = wait_for(client, batch.id, {"in_progress"})
        while (running.request_counts.completed or 0) < 1:
            running = client.batches.retrieve(batch.id)
        clock.advance(86400 + 60)
        done = wait_for(client, batch.id, {"expired"})
        assert done.expired_at and done.request_counts is not None
        output, errors = read_jsonl(client, done.output_file_id), read_jsonl(client, done.error_file_id)
        assert len(output) == done.request_counts.completed and len(errors) == done.request_counts.failed
        assert len(output) + len(errors) == 30
        assert {e["custom_id"] for e in errors} | {o["custom_id"] for o in output} == {
            f"r{i}" for i in range(30)
        }
        assert all(e["response"] is None and e["error"]["code"] == "batch_expired" for e in errors)


def test_retryable_upstream_faults_still_complete(tmp_path: Path) -> None:
    with (
        StubUpstream("--fail-rate", "0.3", "--seed", "7") as stub,
        live_server(
            tmp_path,
            models=stub_models(stub, 8),
            retry_base_seconds=0.05,
            max_attempts=8,
            worker_poll_seconds=0.05,
        ) as srv,
    ):
        client = srv.sdk()
        batch = client.batches.create(
            endpoint="/v1/chat/completions",
            input_file_id=upload(client, tmp_path, lines(30)),
            completion_window="24h",
        )
        done = wait_for(client, batch.id, {"completed"}, timeout=60)
        assert done.request_counts is not None and done.request_counts.completed == 30


def test_exhausted_retries_land_in_the_error_file_with_the_upstream_status(tmp_path: Path) -> None:
    # a circuit breaker that never opens here: an open one keeps lines waiting, attempts untouched, until
    # the upstream recovers (tests/runner/test_upstream_pause.py)
    with (
        StubUpstream("--fail-rate", "1", "--fail-429-share", "0") as stub,
        live_server(
            tmp_path,
            models=stub_models(stub, 4, circuit_failures=100),
            retry_base_seconds=0.01,
            max_attempts=2,
            worker_poll_seconds=0.05,
        ) as srv,
    ):
        client = srv.sdk()
        batch = client.batches.create(
            endpoint="/v1/chat/completions",
            input_file_id=upload(client, tmp_path, lines(5)),
            completion_window="24h",
        )
        done = wait_for(client, batch.id, {"completed"}, timeout=60)
        errors = read_jsonl(client, done.error_file_id)
        assert done.output_file_id is None and len(errors) == 5
        assert all(e["response"]["status_code"] == 502 for e in errors)
        assert "upstream error 500" in errors[0]["response"]["body"]["error"]["message"]


def test_tenants_never_see_each_other(server: Any, client: OpenAI, fake: Any, tmp_path: Path) -> None:
    fake.default = single_verdict_json(3)
    file_id = upload(client, tmp_path, SEED_INPUT)
    batch = client.batches.create(
        endpoint="/v1/chat/completions", input_file_id=file_id, completion_window="24h"
    )
    other = server.sdk(**{"X-On-Behalf-Of": "someone-else"})
    for call in (lambda: other.files.retrieve(file_id), lambda: other.files.content(file_id),
                 lambda: other.files.delete(file_id), lambda: other.batches.retrieve(batch.id),
                 lambda: other.batches.cancel(batch.id),
                 lambda: other.batches.create(endpoint="/v1/chat/completions", input_file_id=file_id, completion_window="24h")):  # fmt: skip
        with pytest.raises(openai.NotFoundError):
            call()
    assert list(other.files.list()) == [] and list(other.batches.list()) == []
    assert client.files.retrieve(file_id).id == file_id


def test_gateway_variants(server: Any, client: OpenAI, fake: Any, tmp_path: Path) -> None:
    fake.default = single_verdict_json(3)
    llm = server.sdk(base_url=server.base_url.replace("/v1", "/api/v1/llm"), **{"X-On-Behalf-Of": "user-42"})
    file_id = upload(llm, tmp_path, SEED_INPUT)
    batch = llm.batches.create(
        endpoint="/v1/chat/completions",
        input_file_id=file_id,
        completion_window="24h",
        metadata={"description": "nightly eval job"},
    )
    assert wait_for(llm, batch.id, {"completed"}).metadata == {"description": "nightly eval job"}
    with pytest.raises(openai.NotFoundError):  # user-42's objects are not the bare key's
        client.files.retrieve(file_id)
    root = server.base_url.removesuffix("/v1")
    auth = {
        "Authorization": f"Bearer {API_KEY}",
        "X-On-Behalf-Of": "user-42",
        "Content-Type": "application/json",
    }
    body = json.dumps(
        {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    )
    wrapped = request("POST", root + "/api/v1/batches", body, auth).json()
    assert wrapped["success"] is True and wrapped["code"] == "200" and wrapped["message"] == "successful"
    assert wrapped["data"]["status"] == "validating" and wrapped["data"]["object"] == "batch"
    missing = request("GET", root + "/api/v1/batches/batch_nope", headers=auth)
    assert missing.status == 404 and missing.json()["success"] is False


def test_pai_status_style(tmp_path: Path, fake: Any) -> None:
    fake.default = single_verdict_json(3)
    with live_server(tmp_path, models=FAKE_MODELS, backends={"pai-judge": fake, "pai-judge-plus": fake},
                     batch_status_style="pai") as srv:  # fmt: skip
        client = srv.sdk()
        created = client.batches.create(
            endpoint="/v1/chat/completions",
            input_file_id=upload(client, tmp_path, SEED_INPUT),
            completion_window="24h",
        )
        assert created.status == "Creating"
        done = wait_for(client, created.id, {"Succeeded"})
        raw = client.batches.with_raw_response.retrieve(done.id).http_response.json()
        assert raw["in_process_at"] and raw["FinalizingAt"] and "in_progress_at" not in raw


def test_hanging_upstream_calls_time_out_and_are_retried(tmp_path: Path) -> None:
    with StubUpstream("--timeout-rate", "0.3", "--hang-s", "5", "--seed", "3") as stub:
        models = {
            "pai-judge": {
                "backend": "openai",
                "base_url": stub.base_url,
                "max_concurrency": 8,
                "timeout": 0.3,
                "circuit_cooldown_seconds": 0.2,  # timeouts in a row open the circuit: keep it short
            }
        }
        with live_server(
            tmp_path, models=models, retry_base_seconds=0.05, max_attempts=10, worker_poll_seconds=0.05
        ) as srv:
            client = srv.sdk()
            batch = client.batches.create(
                endpoint="/v1/chat/completions",
                input_file_id=upload(client, tmp_path, lines(20)),
                completion_window="24h",
            )
            done = wait_for(client, batch.id, {"completed"}, timeout=90)
            assert done.request_counts is not None and done.request_counts.completed == 20
            text = request(
                "GET", srv.base_url.removesuffix("/v1") + "/metrics", headers=METRICS_AUTH
            ).body.decode()
            assert 'jurist_batch_line_retries_total{code="upstream_timeout",model="pai-judge"}' in text


def test_too_many_lines_fails_validation(tmp_path: Path, fake: Any) -> None:
    with live_server(tmp_path, models=FAKE_MODELS, backends={"pai-judge": fake, "pai-judge-plus": fake},
                     max_batch_lines=3) as srv:  # fmt: skip
        client = srv.sdk()
        batch = client.batches.create(
            endpoint="/v1/chat/completions",
            input_file_id=upload(client, tmp_path, lines(5)),
            completion_window="24h",
        )
        failed = wait_for(client, batch.id, {"failed"})
        assert failed.errors and [(e.code, e.line) for e in failed.errors.data or []] == [
            ("too_many_tasks", 4)
        ]
