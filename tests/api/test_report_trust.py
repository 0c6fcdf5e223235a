"""GET /v1/batches/{id}/report of a labelled batch over real HTTP, as JSON and as HTML: the agreement
section, and the quality of the judgments' confidence against the human labels (raw signals here: no
calibrator was fitted), with the reliability diagram in the page."""

from __future__ import annotations

import pytest

from tests.support.battles import Scripted, battle, completed_batch, headers, post, single
from tests.support.live import LiveServer


@pytest.fixture
def fake() -> Scripted:
    return Scripted()


def test_a_labelled_batch_report_has_agreement_and_confidence_quality(server: LiveServer) -> None:
    # the judge always picks the STRONG answer: answer1 in p0, p1, p3, p4; answer2 in p2, p5
    lines = [battle(f"p{i}", strong_first=i % 3 != 2, swap=i < 2) for i in range(6)] + [single("s1")]
    batch_id = completed_batch(server, lines)
    url = f"{server.base_url}/batches/{batch_id}/report?bootstrap=50"
    plain = server.request("GET", url, headers=headers()).json()
    assert not {"agreement", "confidence", "selective", "cascade"} & set(plain)
    labels = [{"custom_id": f"p{i}", "label": "1", "annotator": "ann"} for i in range(6)]
    labels += [{"custom_id": "p0", "label": "1", "annotator": "bob"}, {"custom_id": "s1", "label": 3}]
    assert post(server, batch_id, labels)[0] == 200
    resp = server.request("GET", url, headers=headers())
    assert resp.status == 200, resp.body
    report = resp.json()
    pairwise = report["agreement"]["pairwise"]
    assert pairwise["labeled_lines"] == 6 and pairwise["judge"]["accuracy"] == pytest.approx(4 / 6)
    assert pairwise["judge"]["confusion"] == {"1": {"1": 4, "2": 2}}
    assert pairwise["inter_annotator"]["lines"] == 1 and pairwise["inter_annotator"]["percent_agreement"] == 1
    assert report["agreement"]["single"]["judge"]["accuracy"] == 1.0  # the judge scores 3, the label is 3
    agreement = server.request(
        "GET", f"{server.base_url}/batches/{batch_id}/agreement?bootstrap=50", headers=headers()
    )
    assert report["agreement"] == agreement.json()
    quality = report["confidence"]
    assert quality["n"] == 7 and len(quality["groups"]) == 1
    (group,) = quality["groups"]
    assert group["calibrated"] is False and group["calibrations"] == [] and group["n"] == 7
    assert group["agreement"] == pytest.approx(5 / 7)
    assert 0 <= group["ece"]["ci"][0] <= group["ece"]["ci"][1] <= 1
    assert sum(b["count"] for b in group["bins"]) == 7
    assert any("7 raw signals (calibrated: false" in note for note in report["notes"])
    assert "selective" not in report and "cascade" not in report  # no agreement target, no cascade
    assert list(report)[-1] == "batch"
    page = server.request("GET", f"{url}&format=html", headers=headers())
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    text = page.body.decode()
    assert 'id="chart-reliability"' in text and "Confusion matrix (pairwise)" in text
    assert "Confidence vs human agreement" in text and "raw signal" in text
