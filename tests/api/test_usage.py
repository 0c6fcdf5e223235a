"""Usage and cost over real HTTP: what chat completions (plain, cached, streamed, re-asked, ensembles)
and batches (run, or answered from the judge cache) used, per tenant, read back by the tenant and by
the admin."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI

from jurist.backends.fake import FakeBackend
from tests.support.batches import SEED_INPUT, upload, wait_for
from tests.support.live import LiveServer, live_server
from tests.support.services import API_KEY, METRICS_AUTH
from tests.support.verdicts import pairwise_verdict_json, single_verdict_json

OTHER_KEY = "sk-other-tenant-0123456789"
ADMIN_KEY = "sk-admin-key-0123456789"
UPSTREAM = {"backend": "openai", "base_url": "http://127.0.0.1:9/v1"}
MODELS = {
    "pai-judge": {**UPSTREAM, "input_price_per_million": 2.0, "output_price_per_million": 8.0},
    "pai-judge-plus": {**UPSTREAM, "swap": True, "samples": 2},  # a pair: 2 samples × 2 orders = 4 calls
}


@pytest.fixture
def server(tmp_path: Path, fake: FakeBackend) -> Iterator[LiveServer]:
    """A long flush interval: what a read shows was written by the read's own flush."""
    with live_server(
        tmp_path,
        models=MODELS,
        backends=dict.fromkeys(MODELS, fake),
        api_keys=[API_KEY, OTHER_KEY],
        admin_key=ADMIN_KEY,
        usage_flush_seconds=3600,
    ) as srv:
        yield srv


def get(server: LiveServer, path: str, key: str = API_KEY, **headers: str) -> Any:
    resp = server.request("GET", server.base_url + path, None, {"Authorization": f"Bearer {key}", **headers})
    return resp


def usage(server: LiveServer, path: str = "/usage?group_by=model", key: str = API_KEY, **headers: str) -> Any:
    resp = get(server, path, key, **headers)
    assert resp.status == 200, resp.body
    return resp.json()


def single(question: str) -> list[Any]:
    return [{"role": "user", "content": [{"mode": "single", "type": "json", "json": {"question": question, "answer": "4"}}]}]  # fmt: skip


def pair() -> list[Any]:
    item = {"question": "2+2?", "answer1": "4", "answer2": "5"}
    return [{"role": "user", "content": [{"mode": "pairwise", "type": "json", "json": item}]}]


def test_chat_completions_are_counted_per_model_with_judge_calls_cache_hits_and_cost(
    server: LiveServer, fake: FakeBackend
) -> None:
    client = server.sdk()
    fake.enqueue(single_verdict_json(4))
    client.chat.completions.create(model="pai-judge", messages=single("2+2?"))  # type: ignore[arg-type]
    hit = client.chat.completions.with_raw_response.create(model="pai-judge", messages=single("2+2?"))  # type: ignore[arg-type]
    assert hit.headers["x-jurist-cache"] == "hit"
    fake.enqueue("Hello there")
    client.chat.completions.create(model="pai-judge", messages=[{"role": "user", "content": "Say hi"}])
    fake.enqueue("no verdict here", single_verdict_json(2))  # read on the re-ask: 2 calls
    reasked: Any = client.chat.completions.create(
        model="pai-judge",
        messages=single("3+3?"),
        extra_body={"cache": False},  # type: ignore[arg-type]
    )
    assert reasked.judgment["attempts"] == 2
    fake.enqueue(single_verdict_json(3))
    stream = client.chat.completions.create(model="pai-judge", messages=single("4+4?"), stream=True)  # type: ignore[arg-type]
    assert any(chunk.choices and chunk.choices[0].finish_reason == "stop" for chunk in stream)
    fake.enqueue(*[pairwise_verdict_json(4, 2, "response_1")] * 4)
    client.chat.completions.create(model="pai-judge-plus", messages=pair())  # type: ignore[arg-type]

    report = usage(server)
    rows = {row["model"]: row for row in report["data"]}
    judge, plus = rows["pai-judge"], rows["pai-judge-plus"]
    # single + hit + custom + re-asked + streamed; calls: 1 + 0 + 1 + 2 + 1
    assert (judge["requests"], judge["judge_calls"], judge["cache_hits"], judge["batch_lines"]) == (
        5,
        5,
        1,
        0,
    )
    assert (plus["requests"], plus["judge_calls"], plus["cache_hits"]) == (1, 4, 0)
    assert judge["judge_calls"] + plus["judge_calls"] == len(fake.history)  # every backend call
    assert judge["prompt_tokens"] == 10 * 5 and plus["prompt_tokens"] == 10 * 4  # the fake's 10 per call
    assert judge["total_tokens"] == judge["prompt_tokens"] + judge["completion_tokens"] > 50
    assert judge["cost"] == pytest.approx((judge["prompt_tokens"] * 2 + judge["completion_tokens"] * 8) / 1e6)
    assert judge["cost"] > 0 and plus["cost"] == 0  # pai-judge-plus has no prices
    totals = report["totals"]
    assert totals["requests"] == 6 and totals["judge_calls"] == 9 and totals["cost"] == judge["cost"]
    today = dt.datetime.now(dt.UTC).date()
    assert report["end"] == today.isoformat()
    assert report["start"] == (today - dt.timedelta(days=29)).isoformat()
    by_day = usage(server, "/usage?group_by=day")["data"]
    assert by_day == [{"day": today.isoformat(), **totals}]
    # another tenant sees none of it
    assert usage(server, key=OTHER_KEY) == {**report, "data": [], "totals": {k: 0 for k in totals}}
    text = server.request(
        "GET", server.base_url.removesuffix("/v1") + "/metrics", headers=METRICS_AUTH
    ).body.decode()
    assert "jurist_tenant_requests_total{tenant=" in text and "jurist_tenant_cost_total{tenant=" in text


def test_a_key_sees_its_sub_tenants_and_a_sub_tenant_only_itself(
    server: LiveServer, fake: FakeBackend
) -> None:
    fake.default = single_verdict_json(3)
    for team, question in (("team-1", "a?"), ("team-1", "b?"), ("team-2", "c?")):
        server.sdk(OTHER_KEY, **{"X-On-Behalf-Of": team}).chat.completions.create(
            model="pai-judge",
            messages=single(question),  # type: ignore[arg-type]
        )
    account = usage(server, key=OTHER_KEY)
    assert account["totals"]["requests"] == 3
    assert usage(server, key=OTHER_KEY, **{"X-On-Behalf-Of": "team-1"})["totals"]["requests"] == 2
    assert usage(server, key=OTHER_KEY, **{"X-On-Behalf-Of": "team-3"})["data"] == []
    assert usage(server)["data"] == []  # the first key's account

    admin = usage(server, "/admin/usage", key=ADMIN_KEY)  # grouped by tenant by default
    tenants = {row["tenant"]: row["requests"] for row in admin["data"]}
    assert len(tenants) == 2 and sorted(tenants.values()) == [1, 2]
    account_id = next(iter(tenants)).split("/")[0]
    assert set(tenants) == {f"{account_id}/team-1", f"{account_id}/team-2"}
    one = usage(server, f"/admin/usage?tenant={account_id}/team-2&group_by=tenant,model", key=ADMIN_KEY)
    assert [(r["tenant"], r["model"], r["requests"]) for r in one["data"]] == [
        (f"{account_id}/team-2", "pai-judge", 1)
    ]
    assert usage(server, f"/admin/usage?tenant={account_id}", key=ADMIN_KEY)["totals"]["requests"] == 3
    unknown = get(server, "/admin/usage?tenant=nobody", key=ADMIN_KEY)
    assert unknown.status == 404 and unknown.json()["error"]["param"] == "tenant"
    assert get(server, "/admin/usage").status == 401  # a tenant's key is not the admin key


def test_batch_lines_are_counted_for_the_batch_owner_also_from_the_cache(
    server: LiveServer, fake: FakeBackend, tmp_path: Path
) -> None:
    fake.default = single_verdict_json(3)
    client: OpenAI = server.sdk(OTHER_KEY)
    file_id = upload(client, tmp_path, SEED_INPUT)
    for _ in range(2):  # the second run is answered from the judge cache when it is validated
        batch = client.batches.create(
            endpoint="/v1/chat/completions", input_file_id=file_id, completion_window="24h"
        )
        assert wait_for(client, batch.id, {"completed", "failed"}).status == "completed"
    rows = {row["model"]: row for row in usage(server, key=OTHER_KEY)["data"]}
    assert set(rows) == {"pai-judge", "pai-judge-plus"}
    for row in rows.values():
        assert (row["requests"], row["batch_lines"], row["cache_hits"]) == (0, 2, 1)
    assert rows["pai-judge"]["judge_calls"] == 1 and rows["pai-judge-plus"]["judge_calls"] == 2  # 2 samples
    assert sum(r["judge_calls"] for r in rows.values()) == len(fake.history)
    assert rows["pai-judge"]["prompt_tokens"] == 10 and rows["pai-judge"]["cost"] > 0
    assert usage(server)["data"] == []  # not the first key's


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("start=2024-13-01", "start"),
        ("end=yesterday", "end"),
        ("start=2024-1-1", "start"),
        ("start=2024-05-02&end=2024-05-01", "start"),
        ("group_by=week", "group_by"),
        ("group_by=tenant", "group_by"),  # a tenant's own figures have no tenant grouping
    ],
)
def test_bad_parameters_are_a_400_naming_them(server: LiveServer, query: str, param: str) -> None:
    resp = get(server, "/usage?" + query)
    assert resp.status == 400, resp.body
    error = resp.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"


def test_an_explicit_range_and_the_admin_endpoints_checks(server: LiveServer) -> None:
    report = usage(server, "/usage?start=2024-05-01&end=2024-05-31&group_by=day,model")
    assert (report["start"], report["end"], report["data"]) == ("2024-05-01", "2024-05-31", [])
    bad = get(server, "/admin/usage?group_by=hour", key=ADMIN_KEY)
    assert bad.status == 400 and bad.json()["error"]["param"] == "group_by"
    assert get(server, "/usage", key="sk-wrong").status == 401
    assert json.loads(get(server, "/admin/usage", key=ADMIN_KEY).body)["object"] == "list"


def test_a_batch_that_fails_validation_counts_none_of_its_cached_lines(
    server: LiveServer, fake: FakeBackend, tmp_path: Path
) -> None:
    fake.default = single_verdict_json(3)
    client = server.sdk()
    line = SEED_INPUT.splitlines()[0]
    once = client.batches.create(
        endpoint="/v1/chat/completions",
        input_file_id=upload(client, tmp_path, line + "\n"),
        completion_window="24h",
    )
    assert wait_for(client, once.id, {"completed", "failed"}).status == "completed"
    # a first chunk of 1,000 lines answered from the cache, then a bad line: the batch fails
    text = "".join(line.replace("request-1", f"r{i}") + "\n" for i in range(1000)) + "not json\n"
    failing = client.batches.create(
        endpoint="/v1/chat/completions",
        input_file_id=upload(client, tmp_path, text, "big.jsonl"),
        completion_window="24h",
    )
    assert wait_for(client, failing.id, {"completed", "failed"}).status == "failed"
    totals = usage(server)["totals"]
    assert (totals["batch_lines"], totals["cache_hits"], totals["judge_calls"]) == (1, 0, 1)


def test_a_metrics_scrape_shows_the_usage_counted_so_far(server: LiveServer) -> None:
    """The per-tenant counters follow the usage as it is written; a scrape writes what is pending first
    (the flush interval here is an hour)."""
    metrics_url = server.base_url.removesuffix("/v1") + "/metrics"
    assert (
        "jurist_tenant_requests_total{"
        not in server.request("GET", metrics_url, headers=METRICS_AUTH).body.decode()
    )
    with OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0) as client:
        for n in range(3):
            client.chat.completions.create(
                model="pai-judge", messages=[{"role": "user", "content": f"Hi {n}"}]
            )
    text = server.request("GET", metrics_url, headers=METRICS_AUTH).body.decode()
    lines = [x for x in text.splitlines() if x.startswith("jurist_tenant_requests_total{")]
    assert len(lines) == 1 and lines[0].endswith(" 3.0"), lines
