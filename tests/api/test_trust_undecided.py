"""Labelled batch lines whose verdict is unscored are undecided items of the calibration (the app in
process, real SQLite): not left out, but fitted at the lowest raw confidence as disagreed with, and
counted in the calibration object (``undecided``). ``Judge(biased=True)`` is right on 20 EASY items (raw
confidence 1) and torn on 12 HARD ones (raw confidence 0, a tie: wrong); on 3 BROKEN ones it writes no
verdict at all, in either order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jurist.backends.base import Generation, GenerationRequest
from tests.support.inprocess import InProcessServer, in_process_server
from tests.support.openapi import check
from tests.support.services import FAKE_MODELS
from tests.support.trust import Judge, chat_body, headers, item, label, lines, output_judgments, run


class Broken(Judge):
    """``Judge(biased=True)``, but with no verdict on items named BROKEN."""

    def __init__(self) -> None:
        super().__init__(biased=True)

    async def generate(self, request: GenerationRequest) -> Generation:
        if "BROKEN" in " ".join(str(m.get("content")) for m in request.messages):
            self.history.append(request)
            return Generation("I would rather not say.", "stop", 10, 10)
        return await super().generate(request)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[InProcessServer]:
    backends = dict.fromkeys(FAKE_MODELS, Broken())
    with in_process_server(tmp_path, models=FAKE_MODELS, backends=backends) as server:
        yield server


def broken_lines(n: int) -> list[tuple[str, str, str]]:
    out = []
    for i in range(n):
        body = chat_body("pai-judge", item(f"BROKEN{i}", hard=False, strong_first=True))
        line = {"custom_id": f"b{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}
        out.append((f"b{i}", json.dumps(line), "1"))
    return out


def test_unscored_labelled_lines_are_undecided_items_of_the_calibration(app: InProcessServer) -> None:
    batch = lines("pai-judge", easy=20, hard=12) + broken_lines(3)
    batch_id = run(app, batch)
    judged = output_judgments(app, batch_id)
    assert [judged[f"b{i}"]["scored"] for i in range(3)] == [False] * 3
    posted = label(app, batch_id, batch)  # unscored lines take labels too
    [refitted] = posted["calibrations"]
    got = app.request("GET", f"{app.base_url}/calibrations/{refitted['id']}", headers=headers())
    assert got.status == 200, got.body
    calibration: dict[str, Any] = got.json()
    assert (calibration["items"], calibration["undecided"]) == (35, 3)
    assert calibration["agreement"] == pytest.approx(20 / 35)  # the unscored ones are disagreed with
    shown = {t["agreement_target"]: t for t in calibration["thresholds"]}
    assert shown[0.8]["supported"] and shown[0.8]["raw_threshold"] == 1.0
    assert shown[0.8]["coverage"] == pytest.approx(20 / 35)
    doc = json.loads(app.request("GET", "http://testserver/openapi.json").body)
    check(doc, "get", "/calibrations/{calibration_id}", got)

    made = app.request(
        "POST", f"{app.base_url}/calibrations", json.dumps({"model": "pai-judge", "batches": [batch_id]}),
        headers(),
    )  # fmt: skip
    assert made.status == 200, made.body
    assert (made.json()["items"], made.json()["undecided"], made.json()["version"]) == (35, 3, 2)


def test_a_calibration_without_unscored_lines_counts_none(app: InProcessServer) -> None:
    batch = lines("pai-judge", easy=8, hard=4)
    posted = label(app, run(app, batch), batch)
    [refitted] = posted["calibrations"]
    got = app.request("GET", f"{app.base_url}/calibrations/{refitted['id']}", headers=headers()).json()
    assert (got["items"], got["undecided"]) == (12, 0)
