"""pai-judge-auto, the cascade of pai-judge and pai-judge-plus, through the API (the app in process).
pai-judge is ``Judge(biased=True)``: right on EASY items, torn on HARD ones (raw confidence 0); pai-judge-plus
is right on both. Without a target a stage escalates below ``escalate_below`` (0.75); with one, each
stage's threshold comes from the tenant's calibration of that stage, fitted from a labelled cascade batch
(pai-judge gets a point per line, pai-judge-plus one per line that reached it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.inprocess import InProcessServer, in_process_server
from tests.support.services import FAKE_MODELS
from tests.support.trust import Judge, chat_body, headers, item, judge, label, lines, output_judgments, run

AUTO = "pai-judge-auto"


@pytest.fixture
def judges() -> dict[str, Judge]:
    return {"pai-judge": Judge(biased=True), "pai-judge-plus": Judge(biased=False)}


@pytest.fixture
def app(tmp_path: Path, judges: dict[str, Judge]) -> Iterator[InProcessServer]:
    with in_process_server(tmp_path, models=FAKE_MODELS, backends=judges) as server:
        yield server


def stages(judgment: dict[str, Any]) -> list[tuple[str, Any, bool]]:
    return [(s["model"], s["verdict"], s["decided"]) for s in judgment["cascade"]]


def card(app: InProcessServer) -> dict[str, Any]:
    resp = app.request("GET", f"{app.base_url}/models/{AUTO}", headers=headers())
    assert resp.status == 200, resp.body
    found: dict[str, Any] = resp.json()["cascade"]
    return found


def test_the_cascade_escalates_only_what_the_first_judge_is_unsure_of(
    app: InProcessServer, judges: dict[str, Judge]
) -> None:
    status, easy = judge(app, chat_body(AUTO, item("a", hard=False, strong_first=True)))
    assert status == 200, easy
    assert easy["model"] == AUTO and stages(easy["judgment"]) == [("pai-judge", "response_1", True)]
    assert easy["judgment"]["cascade"][0]["threshold"] == 0.75 and easy["judgment"]["attempts"] == 2
    status, hard = judge(app, chat_body(AUTO, item("b", hard=True, strong_first=False)))
    assert status == 200, hard
    assert stages(hard["judgment"]) == [("pai-judge", "tie", False), ("pai-judge-plus", "response_2", True)]
    assert hard["judgment"]["winner"] == "response_2" and hard["judgment"]["attempts"] == 4
    assert "Response 2 is better" in hard["choices"][0]["message"]["content"]
    assert hard["usage"]["prompt_tokens"] == 40  # both games of both stages
    assert (len(judges["pai-judge"].history), len(judges["pai-judge-plus"].history)) == (4, 2)
    again = judge(app, chat_body(AUTO, item("b", hard=True, strong_first=False)))[1]
    assert stages(again["judgment"]) == stages(hard["judgment"])  # both stages from the judge cache
    assert (len(judges["pai-judge"].history), len(judges["pai-judge-plus"].history)) == (4, 2)
    costs = card(app)
    assert costs["stages"] == ["pai-judge", "pai-judge-plus"] and costs["escalate_below"] == 0.75
    assert costs["calls_per_item"]["pairwise"] == {"min": 1, "max": 2, "expected": None}  # no labels yet


def test_labels_of_cascade_batches_calibrate_each_stage_and_a_target_holds(app: InProcessServer) -> None:
    batch = lines(AUTO, easy=20, hard=12)
    batch_id = run(app, batch)
    judged = output_judgments(app, batch_id)
    assert sum(len(j["cascade"]) for j in judged.values()) == 32 + 12
    report = app.request("GET", f"{app.base_url}/batches/{batch_id}/report?bootstrap=20", headers=headers())
    cascade = report.json()["cascade"]
    assert [(s["model"], s["ran"], s["decided"]) for s in cascade["stages"]] == [
        ("pai-judge", 32, 20),
        ("pai-judge-plus", 12, 12),
    ]
    assert cascade["undecided"] == 0 and cascade["mean_calls"] == pytest.approx(44 / 32)
    fitted = label(app, batch_id, batch)["calibrations"]
    assert sorted((c["model"], c["version"]) for c in fitted) == [("pai-judge", 1), ("pai-judge-plus", 1)]
    listed = app.request("GET", f"{app.base_url}/calibrations", headers=headers()).json()["data"]
    assert {c["model"]: c["items"] for c in listed} == {"pai-judge": 32, "pai-judge-plus": 12}
    # pai-judge escalates the 12 torn items of 32: 1 + 12/32 calls per pairwise item
    assert card(app)["calls_per_item"]["pairwise"]["expected"] == round(1 + 12 / 32, 3)

    status, easy = judge(app, chat_body(AUTO, item("c", False, True, agreement_target=0.8)))
    assert status == 200, easy
    assert stages(easy["judgment"]) == [("pai-judge", "response_1", True)]
    assert easy["judgment"]["abstained"] is False and easy["judgment"]["selective"]["raw_threshold"] == 1.0
    # each of the two stages is tested at delta 0.1 / 2, so an 80% target needs 14 agreeing items at a
    # stage (0.8^14 ≤ 0.05): pai-judge-plus has seen only 12, so the HARD item it decides is held back
    status, held = judge(app, chat_body(AUTO, item("d", True, True, agreement_target=0.8)))
    assert status == 200, held
    j = held["judgment"]
    assert stages(j) == [("pai-judge", "tie", False), ("pai-judge-plus", "response_1", False)]
    assert j["abstained"] is True and j["winner"] == "response_1" and j["selective"]["threshold"] is None
    assert any("pai-judge-plus" in w and "too few" in w for w in j["warnings"])
    assert "[[Abstained]]" in held["choices"][0]["message"]["content"]

    more = [(f"x{cid}", line.replace(f'"{cid}"', f'"x{cid}"'), gold) for cid, line, gold in lines(AUTO, 0, 2)]
    # two more HARD lines labelled: pai-judge-plus's calibration now holds 14
    more_id = run(app, more)
    refitted = label(app, more_id, more)["calibrations"]
    assert sorted((c["model"], c["version"]) for c in refitted) == [("pai-judge", 2), ("pai-judge-plus", 2)]
    status, decided = judge(app, chat_body(AUTO, item("d", True, True, agreement_target=0.8)))
    j = decided["judgment"]
    assert stages(j) == [("pai-judge", "tie", False), ("pai-judge-plus", "response_1", True)]
    assert j["abstained"] is False and all(s["calibrated"] for s in j["cascade"])

    # 90% needs 29 agreeing items at a stage (0.9^29 ≤ 0.05): pai-judge has 20 sure ones, pai-judge-plus 14
    status, refused = judge(app, chat_body(AUTO, item("e", True, True, agreement_target=0.9)))
    assert status == 400 and refused["error"]["code"] == "agreement_target_unsupported"
    assert "no stage of the cascade supports it" in refused["error"]["message"]
