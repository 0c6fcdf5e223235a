"""Head to head (Jurist's extension of the Evals API): a pairwise judge over two runs' answers in both
orders, its figures, a Bradley–Terry board across runs, and win rates and comparisons anchored on human
labels. The judge model is a scripted stand-in for a remote judge that prefers the answer saying GOOD."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from openai import BadRequestError, NotFoundError, OpenAI

from jurist.api.openapi_compare import EvalRunsComparison
from jurist.api.openapi_experiments import HeadToHead, Leaderboard
from jurist.backends.base import Generation, GenerationRequest
from jurist.backends.fake import FakeBackend
from jurist.cli.gate import table
from tests.support.live import LiveServer, live_server
from tests.support.services import API_KEY, FAKE_MODELS
from tests.support.verdicts import pairwise_verdict_json, single_verdict_json


class PrefersGood(FakeBackend):
    """Picks the response that says GOOD over one that says BAD; a tie when both or neither do.
    Single-mode items get 4 for GOOD and 2 for BAD."""

    async def generate(self, request: GenerationRequest) -> Generation:
        self.history.append(request)
        text = "\n".join(str(m.get("content")) for m in request.messages)
        if "winner" not in f"{request.json_schema} {text}":  # a single answer
            return Generation(single_verdict_json(4 if "GOOD" in text else 2), "stop", 10, 10)
        good, bad = text.find("GOOD"), text.find("BAD")
        if good < 0 or bad < 0:
            answer = pairwise_verdict_json(4, 4, "tie")
        elif good < bad:
            answer = pairwise_verdict_json(5, 2, "response_1")
        else:
            answer = pairwise_verdict_json(2, 5, "response_2")
        return Generation(answer, "stop", 10, 10)


@pytest.fixture
def fake() -> FakeBackend:
    return PrefersGood()


def raw(obj: object) -> Any:
    return orjson.loads(orjson.dumps(obj if isinstance(obj, dict) else obj.model_dump()))  # type: ignore[attr-defined]


def finished(client: OpenAI, eval_id: str, run_id: str) -> Any:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = client.evals.runs.retrieve(run_id, eval_id=eval_id)
        if found.status in ("completed", "failed", "canceled"):
            return found
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def answers(n: int, good: Any) -> list[dict[str, Any]]:
    return [
        {
            "item": {"question": f"Question {i}?"},
            "sample": {"output_text": f"{'GOOD' if good(i) else 'BAD'} {i}"},
        }
        for i in range(n)
    ]


def run_of(client: OpenAI, eval_id: str, rows: list[dict[str, Any]]) -> str:
    made = client.evals.runs.create(
        eval_id, data_source={"type": "jsonl", "source": {"type": "file_content", "content": rows}}
    )
    assert finished(client, eval_id, made.id).status == "completed"
    return made.id


def an_eval(client: OpenAI, criteria: list[Any] | None = None) -> str:
    exact = {"type": "string_check", "name": "says_good", "input": "{{sample.output_text}}",
             "reference": "GOOD", "operation": "ilike"}  # fmt: skip
    return client.evals.create(
        data_source_config={
            "type": "custom",
            "item_schema": {"type": "object"},
            "include_sample_schema": True,
        },
        testing_criteria=criteria or [exact],  # type: ignore[list-item]
    ).id


def head_to_head(client: OpenAI, eval_id: str, **body: Any) -> Any:
    made = client.post(f"/evals/{eval_id}/runs/head_to_head", body=body, cast_to=object)
    return raw(made)


def test_head_to_head_finds_the_better_run_with_consistent_orders(client: OpenAI, fake: FakeBackend) -> None:
    eval_id = an_eval(client)
    base = run_of(client, eval_id, answers(30, lambda i: i % 5 == 0))
    candidate = run_of(client, eval_id, answers(30, lambda i: i % 5 != 4))
    made = head_to_head(client, eval_id, base=base, candidate=candidate, model="pai-judge",
                        question="{{item.question}}")  # fmt: skip
    assert made["data_source"]["type"] == "jurist_head_to_head" and made["status"] in (
        "queued",
        "in_progress",
    )
    done = finished(client, eval_id, made["id"])
    assert done.status == "completed" and done.result_counts.total == 30
    assert [r.testing_criteria for r in done.per_testing_criteria_results] == ["head_to_head"]
    item = next(iter(client.evals.runs.output_items.list(made["id"], eval_id=eval_id, limit=1)))
    sample = raw(item)["sample"]
    assert sample["input"][0]["content"] == "Question 0?" and sample["base_output"][0]["content"] == "GOOD 0"
    figures = raw(client.get(f"/evals/{eval_id}/runs/{made['id']}/head_to_head", cast_to=object))
    HeadToHead.model_validate(figures)  # the shape /openapi.json documents
    assert figures["base"] == base and figures["candidate"] == candidate
    assert (figures["candidate_wins"], figures["ties"], figures["base_wins"]) == (18, 12, 0)
    assert figures["win_rate"]["estimate"] == pytest.approx(0.8)
    assert figures["win_rate"]["ci_low"] > 0.5 and figures["decision"] == "better"
    assert figures["position_consistency"]["estimate"] == 1.0 and figures["position_consistency"]["n"] == 30
    assert figures["items"]["paired"] == 30 and figures["items"]["errored"] == 0
    assert figures["anchored"] == {"labels": 0, "win_rate": None}
    # both orders were played: 30 items, each judged twice
    assert sum(1 for r in fake.history if "Question" in str(r.messages)) == 60
    reverse = head_to_head(client, eval_id, base=candidate, candidate=base, model="pai-judge",
                           question="{{item.question}}")  # fmt: skip
    finished(client, eval_id, reverse["id"])
    backwards = raw(client.get(f"/evals/{eval_id}/runs/{reverse['id']}/head_to_head", cast_to=object))
    assert backwards["decision"] == "worse" and backwards["win_rate"]["estimate"] == pytest.approx(0.2)


def test_labels_anchor_the_win_rate(client: OpenAI) -> None:
    eval_id = an_eval(client)
    base = run_of(client, eval_id, answers(40, lambda i: i % 2 == 0))
    candidate = run_of(client, eval_id, answers(40, lambda i: True))
    made = head_to_head(client, eval_id, base=base, candidate=candidate, model="pai-judge",
                        question="{{item.question}}")  # fmt: skip
    finished(client, eval_id, made["id"])
    batch_id = raw(client.get(f"/evals/{eval_id}/runs/{made['id']}", cast_to=object))["jurist"]["batch_id"]
    # the humans disagree with the judge on the ties: they prefer the candidate on half of them
    labels = [{"custom_id": f"row-{i}", "label": "1" if i % 2 or i % 4 == 0 else "tie"} for i in range(20)]
    client.post(f"/batches/{batch_id}/labels", body=labels, cast_to=object)
    figures = raw(client.get(f"/evals/{eval_id}/runs/{made['id']}/head_to_head?alpha=0.1", cast_to=object))
    HeadToHead.model_validate(figures)
    anchored = figures["anchored"]
    assert anchored["labels"] == 20
    judge, ppi = anchored["win_rate"]["judge_only"], anchored["win_rate"]["ppi"]
    assert judge["estimate"] == pytest.approx(0.75) and ppi["n_labeled"] == 20 and ppi["n_unlabeled"] == 20
    assert ppi["estimate"] > judge["estimate"]  # the humans' extra wins move the estimate up
    assert ppi["ci_low"] < ppi["estimate"] < ppi["ci_high"] and ppi["effective_labels"] >= 20


def test_a_leaderboard_across_head_to_head_runs(client: OpenAI) -> None:
    eval_id = an_eval(client)
    weak = run_of(client, eval_id, answers(24, lambda i: i % 4 == 0))
    middle = run_of(client, eval_id, answers(24, lambda i: i % 2 == 0))
    strong = run_of(client, eval_id, answers(24, lambda i: i % 4 != 3))
    for base, candidate in ((weak, middle), (middle, strong), (weak, strong)):
        made = head_to_head(client, eval_id, base=base, candidate=candidate, model="pai-judge",
                            question="{{item.question}}")  # fmt: skip
        finished(client, eval_id, made["id"])
    board = raw(client.get(f"/evals/{eval_id}/leaderboard?rounds=50", cast_to=object))
    Leaderboard.model_validate(board)
    assert board["style_control"] is True and board["battles"] == 72 and len(board["head_to_head_runs"]) == 3
    assert [r["run_id"] for r in board["data"]] == [strong, middle, weak]
    assert board["data"][0]["ci_low"] <= board["data"][0]["rating"] <= board["data"][0]["ci_high"]
    assert [s["feature"] for s in board["style"]] == ["length", "headers", "bold", "lists"]
    plain = raw(client.get(f"/evals/{eval_id}/leaderboard?style_control=false&rounds=50", cast_to=object))
    assert [r["run_id"] for r in plain["data"]] == [strong, middle, weak] and plain["style"] == []


def test_a_comparison_is_anchored_on_labels_of_a_judged_criterion(client: OpenAI) -> None:
    judge = {"type": "jurist_judge", "name": "judge", "model": "pai-judge", "mode": "single",
             "question": "{{item.question}}", "answer": "{{sample.output_text}}"}  # fmt: skip
    eval_id = an_eval(client, [judge])
    base = run_of(client, eval_id, answers(30, lambda i: i % 3 == 0))
    candidate = run_of(client, eval_id, answers(30, lambda i: i % 3 != 2))
    unlabelled = raw(
        client.get(f"/evals/{eval_id}/runs/compare?base={base}&candidate={candidate}", cast_to=object)
    )
    assert unlabelled["anchored"]["base"] == {"labels": 0, "pass_rate": None, "mean_score": None}
    assert unlabelled["anchored"]["delta"]["labels"] == 0
    for run_id, good in ((base, lambda i: i % 3 == 0), (candidate, lambda i: i % 3 != 2)):
        batch_id = raw(client.evals.runs.retrieve(run_id, eval_id=eval_id))["jurist"]["batch_id"]
        labels = [{"custom_id": f"row-{i}", "label": 5 if good(i) else 1} for i in range(12)]
        client.post(f"/batches/{batch_id}/labels", body=labels, cast_to=object)
    found = raw(
        client.get(f"/evals/{eval_id}/runs/compare?base={base}&candidate={candidate}", cast_to=object)
    )
    EvalRunsComparison.model_validate(found)
    anchored = found["anchored"]
    assert anchored["criterion"] == "judge" and anchored["pass_cut"] == 3.0
    assert anchored["base"]["labels"] == 12 and anchored["candidate"]["labels"] == 12
    base_pass = anchored["base"]["pass_rate"]
    assert base_pass["judge_only"]["estimate"] == pytest.approx(10 / 30)
    assert base_pass["ppi"]["n_labeled"] == 12 and base_pass["ppi"]["estimate"] == pytest.approx(
        10 / 30, abs=0.05
    )
    delta = anchored["delta"]
    assert delta["labels"] == 12 and delta["pass_rate"]["ppi"]["estimate"] > 0
    assert delta["mean_score"]["judge_only"]["estimate"] == pytest.approx(2 * 10 / 30, abs=1e-6)
    shown = "\n".join(table(found))  # what `jurist compare` and the gate's summary print
    assert "Anchored on human labels of `judge` (PPI++)" in shown and "| pass rate, delta | 12 |" in shown


def test_bad_requests_are_refused_with_the_parameter(client: OpenAI, server: LiveServer) -> None:
    eval_id = an_eval(client)
    base = run_of(client, eval_id, answers(4, lambda i: True))
    mine = run_of(client, eval_id, answers(4, lambda i: False))
    other = run_of(client, an_eval(client), answers(4, lambda i: True))
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"base": base, "candidate": base, "model": "pai-judge", "question": "{{item.question}}"},
            "candidate",
        ),
        ({"base": base, "candidate": other, "model": "nope", "question": "{{item.question}}"}, "model"),
        ({"base": base, "candidate": mine, "model": "pai-judge"}, "question"),
        (
            {"base": base, "candidate": "evalrun_x", "model": "pai-judge", "question": "{{oops.x}}"},
            "question",
        ),
        ({"base": base, "model": "pai-judge"}, "candidate"),
        ({"base": base, "candidate": other, "model": "pai-judge", "colour": "red"}, "colour"),
    ]
    for body, param in cases:
        with pytest.raises(BadRequestError) as refused:
            head_to_head(client, eval_id, **body)
        assert refused.value.param == param, body  # type: ignore[attr-defined]
    with pytest.raises(NotFoundError) as missing:  # a run of another eval
        head_to_head(
            client, eval_id, base=base, candidate=other, model="pai-judge", question="{{item.question}}"
        )
    assert missing.value.param == "candidate"  # type: ignore[attr-defined]
    with pytest.raises(BadRequestError) as not_one:  # figures of a run that is not a head-to-head run
        client.get(f"/evals/{eval_id}/runs/{base}/head_to_head", cast_to=object)
    assert not_one.value.param == "run_id"  # type: ignore[attr-defined]
    with pytest.raises(BadRequestError) as no_board:
        client.get(f"/evals/{eval_id}/leaderboard", cast_to=object)
    assert no_board.value.param == "eval_id"  # type: ignore[attr-defined]
    with pytest.raises(BadRequestError) as bad_alpha:
        client.get(f"/evals/{eval_id}/runs/{base}/head_to_head?alpha=0.9", cast_to=object)
    assert bad_alpha.value.param == "alpha"  # type: ignore[attr-defined]
    stranger = server.sdk(API_KEY, **{"X-On-Behalf-Of": "someone-else"})
    with pytest.raises(NotFoundError):
        head_to_head(
            stranger, eval_id, base=base, candidate=other, model="pai-judge", question="{{item.question}}"
        )
    with pytest.raises(NotFoundError):
        stranger.get(f"/evals/{eval_id}/leaderboard", cast_to=object)


class Pausable(PrefersGood):
    """``PrefersGood``, whose judge calls wait while ``paused`` is set (a run stays in progress)."""

    def __init__(self) -> None:
        super().__init__()
        self.paused = threading.Event()

    async def generate(self, request: GenerationRequest) -> Generation:
        while self.paused.is_set():  # noqa: ASYNC110 (set from the test's thread)
            await asyncio.sleep(0.02)
        return await super().generate(request)


def test_a_run_still_going_is_refused_until_it_ends(tmp_path: Path) -> None:
    judge = Pausable()
    with live_server(tmp_path, models=FAKE_MODELS, backends=dict.fromkeys(FAKE_MODELS, judge)) as held:
        client = held.sdk(API_KEY)
        graded = {"type": "jurist_judge", "name": "judge", "model": "pai-judge", "mode": "single",
                  "question": "{{item.question}}", "answer": "{{sample.output_text}}"}  # fmt: skip
        eval_id = an_eval(client, [graded])
        base = run_of(client, eval_id, answers(4, lambda i: False))
        judge.paused.set()
        try:
            going = client.evals.runs.create(
                eval_id, data_source={"type": "jsonl", "source": {"type": "file_content",
                                                                  "content": answers(4, lambda i: True)}},
            ).id  # fmt: skip
            with pytest.raises(BadRequestError) as refused:
                head_to_head(client, eval_id, base=base, candidate=going, model="pai-judge",
                             question="{{item.question}}")  # fmt: skip
            assert refused.value.param == "candidate" and refused.value.code == "run_not_finished"  # type: ignore[attr-defined]
        finally:
            judge.paused.clear()
        assert finished(client, eval_id, going).status == "completed"
        made = head_to_head(client, eval_id, base=base, candidate=going, model="pai-judge",
                            question="{{item.question}}")  # fmt: skip
        assert finished(client, eval_id, made["id"]).status == "completed"
