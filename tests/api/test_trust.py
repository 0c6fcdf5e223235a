"""Calibrated confidence and selective verdicts through the API (the app in process, real SQLite): labels
fit a calibration by themselves; verdicts carry it; an agreement target holds back the unconfident
ones (``abstained``) or is refused (400) when the tenant's labels cannot support it; another tenant
sees none of it. ``Judge(biased=True)`` is right on EASY items (raw confidence 1) and torn on HARD ones
(its two orders disagree: a tie, raw confidence 0), so 20 EASY + 12 HARD labelled lines support an 80%
target at the raw threshold 1 (coverage 20/32), and nothing at 95% (45 agreeing items would be needed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.inprocess import InProcessServer, in_process_server
from tests.support.openapi import check
from tests.support.services import FAKE_MODELS
from tests.support.trust import Judge, chat_body, headers, item, judge, label, lines, output_judgments, run

OTHER = {"X-On-Behalf-Of": "another-team"}


@pytest.fixture
def biased() -> Judge:
    return Judge(biased=True)


@pytest.fixture
def app(tmp_path: Path, biased: Judge) -> Iterator[InProcessServer]:
    backends = dict.fromkeys(FAKE_MODELS, biased)
    with in_process_server(tmp_path, models=FAKE_MODELS, backends=backends) as server:
        yield server


@pytest.fixture
def calibrated(app: InProcessServer) -> tuple[str, dict[str, Any]]:
    """A labelled batch of pai-judge's verdicts, and the calibration its labels fitted."""
    batch = lines("pai-judge", easy=20, hard=12)
    batch_id = run(app, batch)
    posted = label(app, batch_id, batch)
    assert [(c["model"], c["mode"], c["version"]) for c in posted["calibrations"]] == [
        ("pai-judge", "pairwise", 1)
    ]
    got = app.request(
        "GET", f"{app.base_url}/calibrations/{posted['calibrations'][0]['id']}", headers=headers()
    )
    assert got.status == 200, got.body
    return batch_id, got.json()


def test_labels_fit_a_calibration_that_says_which_targets_it_supports(
    calibrated: tuple[str, dict[str, Any]],
) -> None:
    batch_id, calibration = calibrated
    assert calibration["object"] == "calibration" and calibration["source"] == "labels"
    assert calibration["items"] == 32 and calibration["agreement"] == pytest.approx(20 / 32)
    assert calibration["batches"] == [batch_id] and calibration["calibrator"]["kind"] == "logistic"
    quality = calibration["quality"]
    assert quality["in_sample"] is True and 0 <= quality["brier"]["value"] < 0.1  # a separating signal
    shown = {t["agreement_target"]: t for t in calibration["thresholds"]}
    assert shown[0.8]["supported"] and shown[0.8]["raw_threshold"] == 1.0
    assert shown[0.8]["coverage"] == pytest.approx(20 / 32)
    assert not shown[0.95]["supported"] and "no threshold supports" in shown[0.95]["reason"]


def test_verdicts_carry_the_calibration_and_a_target_holds_back_the_unconfident(
    app: InProcessServer, calibrated: tuple[str, dict[str, Any]]
) -> None:
    cal_id = calibrated[1]["id"]
    status, plain = judge(app, chat_body("pai-judge", item("x", hard=False, strong_first=True)))
    assert status == 200, plain
    j = plain["judgment"]
    assert (j["calibrated"], j["calibration"], j["raw_confidence"]) == (True, cal_id, 1.0)
    assert j["confidence"] > 0.9 and "selective" not in j and "abstained" not in j

    status, sure = judge(app, chat_body("pai-judge", item("y", False, True, agreement_target=0.8)))
    assert status == 200, sure
    j = sure["judgment"]
    assert j["abstained"] is False and j["winner"] == "response_1"
    assert j["selective"]["agreement_target"] == 0.8 and j["selective"]["delta"] == 0.1
    assert j["selective"]["raw_threshold"] == 1.0 and j["confidence"] >= j["selective"]["threshold"]
    assert "[[Abstained]]" not in sure["choices"][0]["message"]["content"]

    status, torn = judge(app, chat_body("pai-judge", item("z", True, True, agreement_target=0.8)))
    assert status == 200, torn
    j = torn["judgment"]
    assert j["abstained"] is True and j["winner"] == "tie"  # the verdict stays visible for review
    assert j["confidence"] < j["selective"]["threshold"] and j["raw_confidence"] == 0.0
    text = torn["choices"][0]["message"]["content"]
    assert (
        text.startswith("***\nI think [[Both responses are tied]]") and "[[Abstained]]: my confidence" in text
    )


@pytest.mark.parametrize(
    ("extra", "param", "code", "words"),
    [
        ({"agreement_target": 0.95}, "agreement_target", "agreement_target_unsupported", "no threshold"),
        (
            {"agreement_target": 0.8, "delta": 0.001},
            "agreement_target",
            "agreement_target_unsupported",
            "delta",
        ),
        ({"agreement_target": 1.5}, "agreement_target", None, "less than 1"),
        ({"agreement_target": 0.5}, "agreement_target", None, "greater than 0.5"),
        ({"agreement_target": 0.8, "delta": 0}, "delta", None, "greater than 0"),
    ],
)
def test_a_target_the_labels_cannot_support_is_a_400_naming_why(
    app: InProcessServer,
    calibrated: tuple[str, dict[str, Any]],
    biased: Judge,
    extra: dict[str, Any],
    param: str,
    code: str | None,
    words: str,
) -> None:
    before = len(biased.history)
    status, body = judge(app, chat_body("pai-judge", item("q", False, True, **extra)))
    assert status == 400, body
    error = body["error"]
    assert error["param"].endswith(param) and words in error["message"]
    if code is not None:
        assert error["code"] == code
    assert len(biased.history) == before  # refused before any judge call
    streamed = app.request(
        "POST",
        f"{app.base_url}/chat/completions",
        __import__("json").dumps({**chat_body("pai-judge", item("q", False, True, **extra)), "stream": True}),
        headers(),
    )
    assert streamed.status == 400 and streamed.json()["error"]["param"].endswith(param)


def test_another_tenant_has_none_of_it(app: InProcessServer, calibrated: tuple[str, dict[str, Any]]) -> None:
    batch_id, calibration = calibrated
    status, plain = judge(app, chat_body("pai-judge", item("x", False, True)), **OTHER)
    assert (
        status == 200 and plain["judgment"]["calibrated"] is False and "calibration" not in plain["judgment"]
    )
    status, refused = judge(
        app, chat_body("pai-judge", item("x", False, True, agreement_target=0.8)), **OTHER
    )
    assert status == 400 and "no calibration of model 'pai-judge'" in refused["error"]["message"]
    url = f"{app.base_url}/calibrations"
    assert app.request("GET", f"{url}/{calibration['id']}", headers=headers(**OTHER)).status == 404
    assert app.request("GET", url, headers=headers(**OTHER)).json()["data"] == []
    body = {"model": "pai-judge", "batches": [batch_id]}
    theirs = app.request("POST", url, __import__("json").dumps(body), headers(**OTHER))
    assert theirs.status == 404 and theirs.json()["error"]["param"] == "batches[0]"


def test_post_calibrations_fits_the_next_version_and_names_bad_fields(
    app: InProcessServer, calibrated: tuple[str, dict[str, Any]]
) -> None:
    import json

    batch_id, first = calibrated
    url = f"{app.base_url}/calibrations"
    made = app.request("POST", url, json.dumps({"model": "pai-judge", "batches": [batch_id]}), headers())
    assert made.status == 200, made.body
    second = made.json()
    assert (second["version"], second["source"], second["items"]) == (2, "request", 32)
    listed = app.request("GET", url + "?model=pai-judge", headers=headers()).json()["data"]
    assert [c["id"] for c in listed] == [second["id"], first["id"]]  # newest first
    status, now = judge(app, chat_body("pai-judge", item("x", False, True)))
    assert now["judgment"]["calibration"] == second["id"]  # the newest version is the one in use
    for body, param, status in [
        ({"model": "nope", "batches": [batch_id]}, "model", 404),
        ({"model": "pai-judge-auto", "batches": [batch_id]}, "model", 400),
        ({"model": "pai-judge", "batches": []}, "batches", 400),
        ({"model": "pai-judge", "batches": [batch_id], "mode": "single"}, "batches", 400),  # none of them
        ({"model": "pai-judge", "batches": [batch_id], "mode": "triple"}, "mode", 400),
        ({"model": "pai-judge", "batches": "b"}, "batches", 400),
        ({"model": "pai-judge", "batches": [batch_id], "extra": 1}, "extra", 400),
    ]:
        resp = app.request("POST", url, json.dumps(body), headers())
        assert resp.status == status and resp.json()["error"]["param"] == param, (body, resp.body)


def test_a_batch_with_a_target_holds_back_its_unconfident_lines(
    app: InProcessServer, calibrated: tuple[str, dict[str, Any]]
) -> None:
    batch = lines("pai-judge", easy=3, hard=2, agreement_target=0.8)
    judged = output_judgments(app, run(app, batch))
    assert {cid: j["abstained"] for cid, j in judged.items()} == {
        "e0": False, "e1": False, "e2": False, "h3": True, "h4": True,
    }  # fmt: skip
    assert all(j["calibration"] == calibrated[1]["id"] for j in judged.values())


def test_calibration_answers_validate_against_the_published_schemas(
    app: InProcessServer, calibrated: tuple[str, dict[str, Any]]
) -> None:
    import json

    doc = json.loads(app.request("GET", "http://testserver/openapi.json").body)
    batch_id, first = calibrated
    url = f"{app.base_url}/calibrations"
    made = app.request("POST", url, json.dumps({"model": "pai-judge", "batches": [batch_id]}), headers())
    check(doc, "post", "/calibrations", made)
    check(doc, "get", "/calibrations", app.request("GET", url, headers=headers()))
    check(
        doc,
        "get",
        "/calibrations/{calibration_id}",
        app.request("GET", f"{url}/{first['id']}", headers=headers()),
    )
    relabel = [{"custom_id": "e0", "label": "1", "annotator": "second"}]
    posted = app.request("POST", f"{app.base_url}/batches/{batch_id}/labels", json.dumps(relabel), headers())
    check(doc, "post", "/batches/{batch_id}/labels", posted)
    assert [c["version"] for c in posted.json()["calibrations"]] == [3]  # refitted on the new labels
    auto = app.request("GET", f"{app.base_url}/models/pai-judge-auto", headers=headers())
    check(doc, "get", "/models/{model}", auto)


def test_the_batch_report_counts_abstentions_apart_and_measures_the_calibration(
    app: InProcessServer, calibrated: tuple[str, dict[str, Any]]
) -> None:
    batch = lines("pai-judge", easy=3, hard=2, agreement_target=0.8)
    batch_id = run(app, batch)
    label(app, batch_id, batch)
    report = app.request("GET", f"{app.base_url}/batches/{batch_id}/report?bootstrap=50", headers=headers())
    assert report.status == 200, report.body
    data = report.json()
    selective = data["selective"]
    assert (selective["lines"], selective["accepted"], selective["abstained"]) == (5, 3, 2)
    assert selective["accepted_agreement"]["rate"] == 1.0 and selective["abstained_agreement"]["rate"] == 0.0
    assert sum(data["pairwise"]["outcomes"].values()) == 3  # the two held back are not decided
    groups = data["confidence"]["groups"]
    assert [g["calibrated"] for g in groups] == [True] and groups[0]["n"] == 5
    html = app.request(
        "GET", f"{app.base_url}/batches/{batch_id}/report?format=html&bootstrap=50", headers=headers()
    )
    assert html.status == 200 and b'id="chart-reliability"' in html.body
    assert "cascade" not in data  # no line was judged by a cascade


def test_labels_imported_from_the_cli_refit_the_calibration(
    tmp_path: Path, biased: Judge, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from jurist.cli.main import app as cli
    from tests.support.live import live_server
    from tests.support.services import API_KEY

    backends = dict.fromkeys(FAKE_MODELS, biased)
    with live_server(tmp_path, models=FAKE_MODELS, backends=backends) as server:
        batch = lines("pai-judge", easy=8, hard=4)
        batch_id = run(server, batch)
        path = tmp_path / "labels.jsonl"
        path.write_text("".join(json.dumps({"custom_id": c, "label": g}) + "\n" for c, _, g in batch))
        monkeypatch.setenv("JURIST_DATA_DIR", str(tmp_path / "data"))  # the live server's data dir
        monkeypatch.setenv("JURIST_API_KEYS", API_KEY)
        done = CliRunner().invoke(cli, ["labels", "import", str(path), "--batch", batch_id, "--key", API_KEY])
        assert done.exit_code == 0, done.output
        assert (
            "Imported 12 label(s)" in done.output
            and "Calibration refitted: pai-judge (pairwise) v1" in done.output
        )
        listed = server.request("GET", f"{server.base_url}/calibrations", headers=headers()).json()["data"]
        assert [(c["model"], c["items"], c["source"]) for c in listed] == [("pai-judge", 12, "labels")]


def test_a_stream_carries_the_trust_and_the_abstention_sentence(
    app: InProcessServer, calibrated: tuple[str, dict[str, Any]]
) -> None:
    import json

    body = {**chat_body("pai-judge", item("s", True, True, agreement_target=0.8)), "stream": True}
    resp = app.request("POST", f"{app.base_url}/chat/completions", json.dumps(body), headers())
    assert resp.status == 200, resp.body
    chunks = [json.loads(line[6:]) for line in resp.body.decode().splitlines() if line.startswith("data: {")]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    last = next(c for c in chunks if c.get("judgment"))["judgment"]
    assert last["abstained"] is True and last["calibration"] == calibrated[1]["id"]
    assert text.endswith("so this verdict is left for review and not counted as decided.")
