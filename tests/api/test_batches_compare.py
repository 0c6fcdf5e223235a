"""GET /v1/batches/compare: is the candidate batch better than the base? Two judge batches paired by
custom_id, run on a real server whose judge is the stub provider (``tests/support/judge_stub.py``: a
single answer scores 2 when shorter than 40 characters, else 4; of a pair, the longer answer wins), so
the candidate's scores are known in advance. Answers are checked against the schema /openapi.json
publishes; every bad input is a 400 or 404 naming its parameter."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from jurist.cli.main import app as cli
from tests.support.batches import create_batch_raw, upload_raw, wait_for_raw
from tests.support.http import RawResponse, multipart
from tests.support.live import LiveServer, StubUpstream, live_server
from tests.support.openapi import check
from tests.support.services import API_KEY
from tests.support.slow_backend import SlowBackend
from tests.support.verdicts import single_verdict_json

AUTH = {"Authorization": f"Bearer {API_KEY}"}
SHORT, LONG = "Too short.", "A long answer that explains itself in well over forty characters."
SHORT2, LONG2 = "Brief.", "A longer answer, with reasons, that beats the brief one in length."
PATH = "/batches/compare"


def line(custom_id: str, item: dict[str, Any], mode: str = "single", model: str = "pai-judge") -> str:
    content = [{"mode": mode, "type": "json", "json": item}]
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body})


def single(custom_id: str, long: bool) -> str:
    return line(custom_id, {"question": f"Explain {custom_id}.", "answer": LONG if long else SHORT})


def pair(custom_id: str, first_longer: bool) -> str:
    one, two = (LONG2, SHORT2) if first_longer else (SHORT2, LONG2)
    return line(custom_id, {"question": f"Explain {custom_id}.", "answer1": one, "answer2": two}, "pairwise")


def plain(custom_id: str) -> str:
    """A chat request with no judge item: its output line carries no judgment (an unscored line)."""
    body = {"model": "pai-judge", "messages": [{"role": "user", "content": "Say hello."}]}
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body})


def batch(server: LiveServer, lines: list[str]) -> str:
    batch_id = create_batch_raw(server, upload_raw(server, "\n".join(lines) + "\n"))
    wait_for_raw(server, batch_id, {"completed"}, timeout=60)
    return batch_id


def batch_as(server: LiveServer, headers: dict[str, str], lines: list[str]) -> str:
    """A completed batch of the tenant ``headers`` name."""
    url = server.base_url
    body, kind = multipart({"purpose": "batch"}, ("in.jsonl", ("\n".join(lines) + "\n").encode()))
    file_id = server.request("POST", f"{url}/files", body, {**headers, "Content-Type": kind}).json()["id"]
    create = {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    batch_id: str = server.request("POST", f"{url}/batches", json.dumps(create), headers).json()["id"]
    deadline = time.monotonic() + 60
    while server.request("GET", f"{url}/batches/{batch_id}", headers=headers).json()["status"] != "completed":
        assert time.monotonic() < deadline, "the batch did not complete"
        time.sleep(0.1)
    return batch_id


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """pai-judge: the stub provider, over HTTP; pai-judge-plus: a scripted judge taking 3 s a line."""
    tmp = tmp_path_factory.mktemp("compare")
    with StubUpstream(script="judge_stub.py") as stub:
        models = {
            "pai-judge": {"backend": "openai", "base_url": stub.base_url},
            "pai-judge-plus": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1"},
        }
        slow = SlowBackend(3.0, single_verdict_json(3))
        with live_server(
            tmp, models=models, backends={"pai-judge-plus": slow}, worker_poll_seconds=0.05
        ) as srv:
            yield srv


@pytest.fixture(scope="module")
def doc(server: LiveServer) -> dict[str, Any]:
    url = server.base_url.removesuffix("/v1") + "/openapi.json"
    found: dict[str, Any] = server.request("GET", url).json()
    return found


# 60 shared custom_ids: the base's answers are long for 1 in 5, the candidate's for all but 1 in 6 (so the
# candidate mostly scores 4 where the base scored 2); one line unscored in the base; ids of one batch only.
SHARED = [f"q-{i}" for i in range(60)]


@pytest.fixture(scope="module")
def singles(server: LiveServer) -> tuple[str, str]:
    base = [single(c, i % 5 == 0) for i, c in enumerate(SHARED)] + [plain("unscored")]
    base += [single("base-only-1", True), single("base-only-2", False)]
    candidate = [single(c, i % 6 != 0) for i, c in enumerate(SHARED)] + [single("unscored", True)]
    candidate += [single("candidate-only", True)]
    return batch(server, base), batch(server, candidate)


@pytest.fixture(scope="module")
def pairs(server: LiveServer) -> tuple[str, str]:
    base = [pair(c, i % 4 == 0) for i, c in enumerate(SHARED[:40])]
    candidate = [pair(c, i % 4 != 0) for i, c in enumerate(SHARED[:40])]
    return batch(server, base), batch(server, candidate)


def ask(server: LiveServer, base: str, candidate: str, headers: dict[str, str] | None = None,
        **query: str) -> RawResponse:  # fmt: skip
    params = "&".join(f"{k}={v}" for k, v in {"base": base, "candidate": candidate, **query}.items())
    return server.request("GET", f"{server.base_url}{PATH}?{params}", headers=headers or AUTH)


def compare(
    server: LiveServer, doc: dict[str, Any], base: str, candidate: str, **query: str
) -> dict[str, Any]:
    answer = ask(server, base, candidate, **query)
    check(doc, "get", PATH, answer)  # 200, and the documented shape
    found: dict[str, Any] = answer.json()
    return found


def refused(answer: RawResponse, status: int, param: str) -> str:
    assert answer.status == status, answer.body
    error = answer.json()["error"]
    assert error["param"] == param, error
    message: str = error["message"]
    return message


def test_a_candidate_judged_higher_is_better(
    server: LiveServer, doc: dict[str, Any], singles: tuple[str, str]
) -> None:
    base, candidate = singles
    found = compare(server, doc, base, candidate)
    assert found["object"] == "batch.comparison" and found["mode"] == "single" and found["complete"] is True
    assert (found["base"], found["candidate"], found["threshold"]) == (base, candidate, None)
    items = found["items"]
    assert items["paired"] == 61 and items["only_in_base"] == 2 and items["only_in_candidate"] == 1
    assert items["errored"] == 1  # "unscored": no judgment in the base
    # base long for i % 5 == 0 (12 lines), candidate short for i % 6 == 0 (10); both when i % 30 == 0 (2)
    assert (items["improved"], items["regressed"], items["same"]) == (40, 2, 18)
    overall = found["overall"]
    assert overall["n"] == 60 and overall["decision"] == "better" and overall["ci_low"] > 0
    assert overall["base"] == pytest.approx(12 / 60) and overall["candidate"] == pytest.approx(50 / 60)
    assert (overall["improved"], overall["regressed"]) == (40, 2)
    assert found["overall_score"]["decision"] == "better" and found["overall_score"]["test"] == "wilcoxon"
    assert found["overall_score"]["delta"] == pytest.approx(38 * 0.5 / 60)  # 2 → 4 on 1–5: half the scale
    assert found["criteria"], "the judgments name their criteria"
    for criterion in found["criteria"]:
        assert criterion["pass"]["decision"] == "better" and criterion["pass"]["p_adjusted"] < 0.05
        assert criterion["errored"] == 1 and criterion["pass"]["n"] == 60
    assert len(found["diffs"]) == 42
    first, last = found["diffs"][0], found["diffs"][-1]  # the regressions first
    assert first["custom_id"] in ("q-0", "q-30") and (first["base"], first["candidate"]) == ("pass", "fail")
    assert (first["base_score"], first["candidate_score"]) == (4, 2) and set(first["base_verdicts"]) == {"P"}
    assert (last["base"], last["candidate"]) == ("fail", "pass")
    assert (last["base_score"], last["candidate_score"]) == (2, 4)
    backwards = compare(server, doc, candidate, base, diffs="5")
    assert backwards["overall"]["decision"] == "worse" and len(backwards["diffs"]) == 5
    assert backwards["diffs"][0]["base"] == "pass" and backwards["diffs"][0]["candidate"] == "fail"
    assert (backwards["items"]["only_in_base"], backwards["items"]["only_in_candidate"]) == (1, 2)
    same = compare(server, doc, base, base, diffs="0")
    assert same["overall"]["delta"] == 0 and same["overall"]["decision"] in ("equivalent", "inconclusive")
    assert same["items"]["improved"] == same["items"]["regressed"] == 0 and same["diffs"] == []


def test_the_threshold_and_one_criterion(
    server: LiveServer, doc: dict[str, Any], singles: tuple[str, str]
) -> None:
    base, candidate = singles
    strict = compare(server, doc, base, candidate, threshold="5")  # nobody reaches 5: nothing passes
    assert strict["threshold"] == 5 and strict["overall"]["base"] == strict["overall"]["candidate"] == 0
    assert strict["overall"]["decision"] == "equivalent" and strict["diffs"][0]["candidate"] == "fail"
    lenient = compare(server, doc, base, candidate, threshold="2")  # everybody passes
    assert lenient["overall"]["base"] == lenient["overall"]["candidate"] == 1
    name = compare(server, doc, base, candidate)["criteria"][-1]["name"]
    one = compare(server, doc, base, candidate, criterion=name.replace(" ", "%20"))
    assert [c["name"] for c in one["criteria"]] == [name]


def test_pairwise_batches_compare_response_1s_wins(
    server: LiveServer, doc: dict[str, Any], pairs: tuple[str, str], singles: tuple[str, str]
) -> None:
    base, candidate = pairs
    found = compare(server, doc, base, candidate)
    assert found["mode"] == "pairwise" and found["items"]["paired"] == 40
    overall = found["overall"]
    assert overall["base"] == pytest.approx(10 / 40) and overall["candidate"] == pytest.approx(30 / 40)
    assert found["overall"]["decision"] == "better" and found["overall_score"]["decision"] == "better"
    # response_1 is the longer answer in the base when i % 4 == 0, in the candidate otherwise
    assert (found["items"]["improved"], found["items"]["regressed"]) == (30, 10)
    first, last = found["diffs"][0], found["diffs"][-1]  # the regressions first
    assert (first["base_score"], first["candidate_score"]) == (1, 0)
    assert (first["base"], first["candidate"]) == ("pass", "fail")
    assert (last["base_score"], last["candidate_score"]) == (0, 1)
    message = refused(ask(server, base, candidate, threshold="3"), 400, "threshold")
    assert "pairwise" in message
    message = refused(ask(server, singles[0], candidate), 400, "candidate")  # single against pairwise
    assert "single" in message and "pairwise" in message


def test_bad_parameters(server: LiveServer, singles: tuple[str, str]) -> None:
    base, candidate = singles
    for query, param in (({"margin": "0"}, "margin"), ({"margin": "1"}, "margin"), ({"alpha": "0.6"}, "alpha"),
                         ({"alpha": "0"}, "alpha"), ({"alpha": "x"}, "alpha"), ({"margin": "nan"}, "margin"),
                         ({"criterion": "nope"}, "criterion"), ({"threshold": "high"}, "threshold"),
                         ({"threshold": "inf"}, "threshold"), ({"diffs": "-1"}, "diffs")):  # fmt: skip
        refused(ask(server, base, candidate, **query), 400, param)
    missing = server.request("GET", f"{server.base_url}{PATH}?base={base}", headers=AUTH)
    refused(missing, 400, "candidate")


def test_unknown_or_other_tenants_batches_are_404s(server: LiveServer, singles: tuple[str, str]) -> None:
    base, candidate = singles
    assert "batch_missing" in refused(ask(server, base, "batch_missing"), 404, "candidate")
    refused(ask(server, "batch_missing", candidate), 404, "base")
    stranger = {**AUTH, "X-On-Behalf-Of": "someone-else"}  # a sub-tenant: none of these batches is its
    refused(ask(server, base, candidate, headers=stranger), 404, "base")
    theirs = batch_as(server, stranger, [single("q-1", True)])
    refused(ask(server, base, theirs), 404, "candidate")
    assert ask(server, theirs, theirs, headers=stranger).status == 200  # its own tenant may compare it


def test_a_batch_without_results_yet_is_a_400(server: LiveServer, singles: tuple[str, str]) -> None:
    slow_line = single("q-1", True).replace("pai-judge", "pai-judge-plus")  # 3 s to judge
    slow = create_batch_raw(server, upload_raw(server, slow_line + "\n"))
    message = refused(ask(server, singles[0], slow), 400, "candidate")
    assert "no output file yet" in message


def test_the_cli_prints_the_table(server: LiveServer, singles: tuple[str, str]) -> None:
    base, candidate = singles
    shown = CliRunner().invoke(
        cli, ["compare-batches", base, candidate, "--server", server.base_url, "--key", API_KEY]
    )
    assert shown.exit_code == 0, shown.output
    assert "| overall |" in shown.output and "better" in shown.output and "61 rows paired" in shown.output
    bad = CliRunner().invoke(
        cli, ["compare-batches", base, "batch_missing", "--server", server.base_url, "--key", API_KEY]
    )
    assert bad.exit_code == 2 and "param: candidate" in bad.output
