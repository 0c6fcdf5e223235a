"""/v1/batches/{id}/labels over real HTTP: post (a JSON list or JSONL), list, replace, delete; the 400s
name the field; another tenant's batch is a 404. The judge prefers the STRONG answer (pairwise lines)
and scores single lines 3."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jurist.cli.main import app
from tests.support.battles import Scripted, battle, completed_batch, headers, labels_url, post, single
from tests.support.live import LiveServer
from tests.support.services import API_KEY


@pytest.fixture
def fake() -> Scripted:
    return Scripted()


def test_post_list_replace_and_delete_labels(server: LiveServer) -> None:
    batch_id = completed_batch(server, [battle("p1", True), battle("p2", False), single("s1")])
    status, posted = post(
        server,
        batch_id,
        [
            {"custom_id": "p1", "label": 1},  # a number 1 or 2 is the same label as "1" or "2"
            {"custom_id": "p2", "label": "tie", "annotator": "ann", "note": "close"},
            {"custom_id": "s1", "label": 4, "annotator": "ann"},
        ],
    )
    assert status == 200, posted
    assert posted["object"] == "list" and len(posted["data"]) == 3  # type: ignore[arg-type]
    assert posted["data"][0]["label"] == "1"  # type: ignore[index]
    # JSONL, and the same (custom_id, annotator) again: replaced
    status, _ = post(
        server, batch_id, '{"custom_id": "p1", "label": "2"}\n{"custom_id": "p2", "label": "1"}\n'
    )
    assert status == 200
    listing = server.request("GET", labels_url(server, batch_id), headers=headers()).json()
    assert listing["object"] == "list" and listing["has_more"] is False
    got = [(d["custom_id"], d["annotator"], d["label"], d["note"]) for d in listing["data"]]
    assert got == [
        ("p1", "default", "2", None),
        ("p2", "ann", "tie", "close"),
        ("p2", "default", "1", None),
        ("s1", "ann", 4, None),
    ]
    gone = server.request("DELETE", labels_url(server, batch_id) + "/p2?annotator=ann", headers=headers())
    assert gone.status == 200 and gone.json()["deleted"] is True
    again = server.request("DELETE", labels_url(server, batch_id) + "/p2?annotator=ann", headers=headers())
    assert again.status == 404
    default = server.request("DELETE", labels_url(server, batch_id) + "/p1", headers=headers())
    assert default.status == 200
    left = server.request("GET", labels_url(server, batch_id), headers=headers()).json()["data"]
    assert [(d["custom_id"], d["annotator"]) for d in left] == [("p2", "default"), ("s1", "ann")]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ([{"custom_id": "nope", "label": "1"}], "labels[0].custom_id"),
        ([{"custom_id": "p1", "label": "1"}, {"label": "1"}], "labels[1].custom_id"),
        ([{"custom_id": "p1", "label": "left"}], "labels[0].label"),
        ([{"custom_id": "p1", "label": 3}], "labels[0].label"),
        ([{"custom_id": "p1", "label": True}], "labels[0].label"),
        ([{"custom_id": "s1", "label": "1"}], "labels[0].label"),
        ([{"custom_id": "s1", "label": 99}], "labels[0].label"),
        ([{"custom_id": "s1", "label": 0}], "labels[0].label"),
        ([{"custom_id": "s1", "label": 3.5}], "labels[0].label"),
        ([{"custom_id": "s1", "label": True}], "labels[0].label"),
        ([{"custom_id": "s1", "label": None}], "labels[0].label"),
        ([{"custom_id": "s1", "label": 3, "criteria": {"Fluency": 3}}], "labels[0].criteria.Fluency"),
        ([{"custom_id": "s1", "label": 3, "criteria": {"Accuracy": 6}}], "labels[0].criteria.Accuracy"),
        ([{"custom_id": "s1", "label": 3, "criteria": {"Accuracy": 2.5}}], "labels[0].criteria.Accuracy"),
        ([{"custom_id": "s1", "label": 3, "criteria": {"Accuracy": "4"}}], "labels[0].criteria.Accuracy"),
        ([{"custom_id": "s1", "label": 3, "criteria": [3]}], "labels[0].criteria"),
        ([{"custom_id": "p1", "label": "1", "criteria": {"Accuracy": 3}}], "labels[0].criteria"),
        ([{"custom_id": "s1", "label": 3, "annotator": ""}], "labels[0].annotator"),
        ([{"custom_id": "s1", "label": 3, "note": 5}], "labels[0].note"),
        (["p1"], "labels[0]"),
        ("[{not json", "body"),
        ("", "body"),
    ],
)
def test_bad_labels_are_a_400_naming_the_field(server: LiveServer, body: object, param: str) -> None:
    batch_id = completed_batch(server, [battle("p1", True), single("s1")])
    status, error = post(server, batch_id, body)
    assert status == 400, error
    assert error["error"]["param"] == param  # type: ignore[index]
    assert server.request("GET", labels_url(server, batch_id), headers=headers()).json()["data"] == []


def test_single_labels_carry_per_criterion_scores(server: LiveServer) -> None:
    batch_id = completed_batch(server, [single("s1"), single("s2"), single("s3")])
    labels = [
        {"custom_id": "s1", "label": 3, "criteria": {"Accuracy": 3, "Clarity and structure": 5}},
        *({"custom_id": "s2", "label": 2, "annotator": a, "criteria": {"Accuracy": 2}} for a in "ab"),
        {"custom_id": "s3", "label": 4, "criteria": {"Accuracy": 3, "Timeliness": 3, "Relevance": None}},
        {"custom_id": "s3", "label": 4, "annotator": "c"},  # no criteria: none on the wire
    ]
    status, posted = post(server, batch_id, labels)
    assert status == 200, posted
    listing = server.request("GET", labels_url(server, batch_id), headers=headers()).json()["data"]
    assert [(d["custom_id"], d["annotator"], d["label"], d.get("criteria")) for d in listing] == [
        ("s1", "default", 3, {"Accuracy": 3, "Clarity and structure": 5}),
        ("s2", "a", 2, {"Accuracy": 2}),
        ("s2", "b", 2, {"Accuracy": 2}),
        ("s3", "c", 4, None),
        ("s3", "default", 4, {"Accuracy": 3, "Timeliness": 3, "Relevance": None}),
    ]
    assert "criteria" not in listing[3]
    resp = server.request(
        "GET", f"{server.base_url}/batches/{batch_id}/agreement?bootstrap=50", headers=headers()
    )
    assert resp.status == 200, resp.body
    # the judge scores every criterion 3 and Timeliness N/A. Accuracy: judge 3, 3, 3 vs gold 3, 2, 3 →
    # exact 2/3, within-1 1, tau-b undefined (the judge ties everywhere); Clarity: 3 vs 5; Timeliness:
    # the judge's N/A leaves its only line out; Relevance: the annotator's N/A leaves it out
    criteria = {c["name"]: c for c in resp.json()["single"]["criteria"]}
    assert list(criteria) == ["Accuracy", "Clarity and structure", "Timeliness", "Relevance"]
    accuracy = criteria["Accuracy"]
    assert (accuracy["n"], accuracy["within_1"], accuracy["kendall_tau_b"]) == (3, 1.0, None)
    assert accuracy["exact"] == pytest.approx(2 / 3)
    clarity = criteria["Clarity and structure"]
    assert (clarity["n"], clarity["exact"], clarity["within_1"]) == (1, 0.0, 0.0)
    assert criteria["Timeliness"] == {
        "name": "Timeliness", "n": 0, "exact": None, "within_1": None, "kendall_tau_b": None
    }  # fmt: skip
    assert criteria["Relevance"]["n"] == 0
    assert resp.json()["single"]["judge"]["accuracy"] == pytest.approx(1 / 3)  # overall labels: 3, 2, 4


def test_labels_of_another_tenants_batch_are_a_404(server: LiveServer) -> None:
    batch_id = completed_batch(server, [battle("p1", True)])
    other = {"X-On-Behalf-Of": "someone"}
    status, error = post(server, batch_id, [{"custom_id": "p1", "label": "1"}], **other)
    assert status == 404 and re.search(batch_id, str(error))
    assert server.request("GET", labels_url(server, batch_id), headers=headers(**other)).status == 404
    assert (
        server.request("DELETE", labels_url(server, batch_id) + "/p1", headers=headers(**other)).status == 404
    )


def test_agreement_with_majority_gold(server: LiveServer) -> None:
    lines = [battle("p1", True), battle("p2", False), battle("p3", True, swap=True), battle("p4", True)]
    batch_id = completed_batch(server, [*lines, battle("p5", False), single("s1")])
    labels = [
        *({"custom_id": "p1", "label": "1", "annotator": a} for a in ("a", "b")),
        *({"custom_id": "p2", "label": "1", "annotator": a} for a in ("a", "b")),
        {"custom_id": "p2", "label": "2", "annotator": "c"},
        {"custom_id": "p3", "label": "1"},
        {"custom_id": "p4", "label": "1", "annotator": "a"},
        {"custom_id": "p4", "label": "2", "annotator": "b"},  # a tie between annotators: no gold
        {"custom_id": "p5", "label": "2"},
        {"custom_id": "s1", "label": 3},
    ]
    assert post(server, batch_id, labels)[0] == 200
    resp = server.request(
        "GET", f"{server.base_url}/batches/{batch_id}/agreement?bootstrap=100", headers=headers()
    )
    assert resp.status == 200, resp.body
    pair = resp.json()["pairwise"]
    assert (pair["labeled_lines"], pair["annotator_ties"], pair["unjudged"]) == (5, 1, 0)
    # judge (prefers STRONG) vs gold: p1 1/1, p2 2/1, p3 1/1, p5 2/2 → 3/4; judge 1:2, 2:2, gold 1:3, 2:1
    # → chance (2·3 + 2·1)/16 = 1/2, kappa (3/4 − 1/2)/(1/2) = 1/2
    assert pair["judge"]["n"] == 4 and pair["judge"]["accuracy"] == pytest.approx(0.75)
    assert pair["judge"]["cohen_kappa"] == pytest.approx(0.5)
    assert pair["judge"]["confusion"] == {"1": {"1": 2, "2": 1}, "2": {"2": 1}}
    assert pair["by_swap"]["consistent"]["n"] == 1 and pair["by_swap"]["consistent"]["accuracy"] == 1.0
    # p1: both agree; p2: 1 of 3 pairs; p4: none → 4/9
    assert pair["inter_annotator"]["lines"] == 3
    assert pair["inter_annotator"]["percent_agreement"] == pytest.approx(4 / 9)
    single_result = resp.json()["single"]
    assert single_result["judge"]["accuracy"] == 1.0 and single_result["judge"]["within_1"] == 1.0
    other = server.request(
        "GET", f"{server.base_url}/batches/{batch_id}/agreement", headers=headers(**{"X-On-Behalf-Of": "x"})
    )
    assert other.status == 404


def test_cli_imports_labels_into_the_servers_database(
    server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch_id = completed_batch(server, [battle("p1", True), single("s1")])
    monkeypatch.setenv("JURIST_DATA_DIR", str(tmp_path / "data"))  # the live server's data dir
    monkeypatch.setenv("JURIST_API_KEYS", API_KEY)
    good = tmp_path / "labels.jsonl"
    good.write_text(
        '{"custom_id": "p1", "label": "1", "annotator": "ann"}\n'
        '{"custom_id": "s1", "label": 2, "criteria": {"Accuracy": 2}}\n'
    )
    runner = CliRunner()
    done = runner.invoke(app, ["labels", "import", str(good), "--batch", batch_id, "--key", API_KEY])
    assert done.exit_code == 0 and "Imported 2 label(s)" in done.output, done.output
    listed = server.request("GET", labels_url(server, batch_id), headers=headers()).json()["data"]
    assert [(d["custom_id"], d["label"], d.get("criteria")) for d in listed] == [
        ("p1", "1", None),
        ("s1", 2, {"Accuracy": 2}),
    ]
    bad = tmp_path / "bad.json"
    bad.write_text('[{"custom_id": "p1", "label": "left"}]')
    failed = runner.invoke(app, ["labels", "import", str(bad), "--batch", batch_id, "--key", API_KEY])
    assert failed.exit_code == 1 and "labels[0].label" in failed.output
    wrong_key = runner.invoke(app, ["labels", "import", str(good), "--batch", batch_id, "--key", "sk-nope"])
    assert wrong_key.exit_code == 1


def test_the_batch_report_has_an_agreement_section_only_with_labels(server: LiveServer) -> None:
    batch_id = completed_batch(server, [battle("p1", True), battle("p2", False)])
    url = f"{server.base_url}/batches/{batch_id}/report?bootstrap=50"
    assert "agreement" not in server.request("GET", url, headers=headers()).json()
    assert (
        post(server, batch_id, [{"custom_id": "p1", "label": "1"}, {"custom_id": "p2", "label": "1"}])[0]
        == 200
    )
    report = server.request("GET", url, headers=headers()).json()
    assert (
        report["agreement"]["pairwise"]["judge"]["accuracy"] == 0.5 and report["agreement"]["single"] is None
    )
    agreement = server.request(
        "GET", f"{server.base_url}/batches/{batch_id}/agreement?bootstrap=50", headers=headers()
    )
    assert report["agreement"] == agreement.json()
