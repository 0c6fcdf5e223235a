"""A calibration counts each labelled line once (issue 18, item 3): naming a batch several times in
``POST /v1/calibrations`` must not multiply its labels into enough items to pass the 10-item minimum, nor
make a target look supported. The guarantee's validity depends on it: for any list of batch ids, with
repeats, the calibration's item count equals its distinct labelled lines (the same for the automatic
refit after labels are posted again)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.inprocess import InProcessServer, in_process_server
from tests.support.services import FAKE_MODELS
from tests.support.trust import Judge, headers, label, lines, run


@pytest.fixture
def app(tmp_path: Path) -> Iterator[InProcessServer]:
    backends = dict.fromkeys(FAKE_MODELS, Judge(biased=True))
    with in_process_server(tmp_path, models=FAKE_MODELS, backends=backends) as server:
        yield server


def calibrate(app: InProcessServer, batches: list[str]) -> tuple[int, dict[str, Any]]:
    body = json.dumps({"model": "pai-judge", "batches": batches})
    resp = app.request("POST", f"{app.base_url}/calibrations", body, headers())
    answer: dict[str, Any] = resp.json()
    return resp.status, answer


def test_a_batch_named_many_times_counts_once(app: InProcessServer) -> None:
    six = lines("pai-judge", easy=6, hard=0)
    small = run(app, six)
    posted = label(app, small, six)
    assert posted["calibrations"] == []  # 6 labelled lines: too few for a calibration
    status, refused = calibrate(app, [small] * 4)
    assert status == 400, refused  # was: items 24, fitted, a 0.9 target "supported"
    assert "the batches hold 6" in refused["error"]["message"] and refused["error"]["param"] == "batches"
    status, _ = calibrate(app, [small] * 10_000)
    assert status == 400


def test_a_calibrations_items_are_its_distinct_labelled_lines(app: InProcessServer) -> None:
    first, second = lines("pai-judge", easy=9, hard=3), lines("pai-judge", easy=5, hard=3)
    a, b = run(app, first), run(app, second)

    def refitted(posted: dict[str, Any]) -> list[tuple[int, list[str]]]:
        url = f"{app.base_url}/calibrations"
        found = [
            app.request("GET", f"{url}/{c['id']}", headers=headers()).json() for c in posted["calibrations"]
        ]
        return [(c["items"], c["batches"]) for c in found]

    assert refitted(label(app, a, first)) == [(12, [a])]
    assert refitted(label(app, b, second)) == [(20, [a, b])]  # the automatic refit: a and b
    assert refitted(label(app, b, second)) == [(20, [a, b])]  # the same labels again: one item a line
    distinct = {a: len(first), b: len(second)}
    draws = random.Random(18)
    for _ in range(12):  # a property over random lists of batch ids, with repeats and in any order
        named = [draws.choice([a, b]) for _ in range(draws.randint(1, 6))]
        expected = sum(distinct[x] for x in set(named))
        status, made = calibrate(app, named)
        if expected < 10:
            assert status == 400 and f"the batches hold {expected}" in made["error"]["message"]
        else:
            assert status == 200 and made["items"] == expected, (named, made)
            assert made["batches"] == list(dict.fromkeys(named))
