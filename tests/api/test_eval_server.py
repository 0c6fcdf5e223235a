"""jurist eval's server seam: the same evaluation through a running Jurist over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from jurist.backends.fake import FakeBackend
from jurist.cli.evaluation import Selective, run_eval
from jurist.evaluation.datasets import PairItem
from jurist.service.judging.evaluate import evaluate_pairs, server_judgments
from tests.support.live import LiveServer
from tests.support.services import API_KEY
from tests.support.verdicts import pairwise_verdict_json


async def test_pairs_judged_through_a_running_server(server: LiveServer, fake: FakeBackend) -> None:
    fake.default = pairwise_verdict_json(5, 2, "response_1")  # always prefers the first shown
    items = [PairItem(str(i), f"question {i}", f"a{i}", f"b{i}", 1) for i in range(4)]
    async with aiohttp.ClientSession() as session:
        report, first, second = await evaluate_pairs(
            items, server_judgments(session, server.base_url, API_KEY), "pai-judge"
        )
    assert first == [1] * 4 and second == [2] * 4
    assert report.averaged_accuracy == 0.5 and report.positional_agreement == 0.0
    async with aiohttp.ClientSession() as session:
        _, bad, _ = await evaluate_pairs(
            items[:1], server_judgments(session, server.base_url, "sk-wrong"), "pai-judge"
        )
    assert bad == [None]  # a refused request is an unparseable verdict, not a crash


async def test_criteria_are_sent_with_every_pair(server: LiveServer, fake: FakeBackend) -> None:
    from tests.support.verdicts import pairwise_verdict_json as verdict

    fake.default = verdict(4, 4, "tie")
    items = [PairItem("x", "question", "a", "b", 0)]
    async with aiohttp.ClientSession() as session:
        report, first, second = await evaluate_pairs(
            items, server_judgments(session, server.base_url, API_KEY), "pai-judge", criteria=["Accuracy"]
        )
    assert first == [0] and second == [0] and report.averaged_accuracy == 1.0
    prompts = [h.messages[0]["content"] + h.messages[1]["content"] for h in fake.history[-2:]]
    assert all("Accuracy" in p and "Timeliness" not in p for p in prompts)


def test_selective_verdicts_from_a_judged_run(server: LiveServer, fake: FakeBackend, tmp_path: Path) -> None:
    """Judged through the server in both orders: swap consistency is the signal; the threshold comes from
    a labelled calibration set (60 consistent verdicts all right, 40 inconsistent ones half right)."""
    calibration = tmp_path / "cal.jsonl"
    calibration_judgments = tmp_path / "cal-judgments.jsonl"
    calibration.write_text(
        "".join(json.dumps({"id": f"c{i}", "question": "q", "answer1": "a", "answer2": "b", "label": 1}) + "\n"
                for i in range(100))
    )  # fmt: skip
    calibration_judgments.write_text(
        "".join(
            json.dumps({"id": f"c{i}", "result": 1 if i < 60 or i % 2 else 2,
                        "result_swapped": 1 if i < 60 else (2 if i % 2 else 1)}) + "\n"
            for i in range(100)
        )
    )  # fmt: skip
    data = tmp_path / "test.jsonl"
    data.write_text(
        "".join(json.dumps({"id": n, "question": n, "answer1": "a", "answer2": "b", "label": 1}) + "\n"
                for n in ("sure", "unsure"))
    )  # fmt: skip
    first = pairwise_verdict_json(5, 2, "response_1")
    second = pairwise_verdict_json(2, 5, "response_2")
    fake.enqueue(first, second, first, first)  # "sure": both orders pick answer 1; "unsure": they differ
    report = run_eval(
        data, None, "pai-judge", server.base_url, API_KEY, None, 1, None,
        selective=Selective(0.9, 0.1, calibration, calibration_judgments),
    )  # fmt: skip
    found = report["selective"]
    assert isinstance(found, dict)
    assert found["threshold"] == 1.0 and found["calibration"]["accepted"] == 60
    assert found["test"]["accepted"] == 1 and found["test"]["coverage"] == 0.5
    assert found["test"]["agreement"] == 1.0 and found["guarantee_held"] is True
