"""jurist eval's server seam: the same evaluation through a running Jurist over HTTP."""

from __future__ import annotations

import aiohttp

from jurist.backends.fake import FakeBackend
from jurist.evaluation.datasets import PairItem
from jurist.service.evaluate import evaluate_pairs, server_judgments
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
