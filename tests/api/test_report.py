"""GET /v1/batches/{id}/report through the app in process: a pairwise batch whose lines name their
competitors, judged by a scripted judge that always prefers the stronger answer; tenants; no output yet."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from jurist.backends.base import Generation, GenerationRequest
from jurist.backends.fake import FakeBackend
from jurist.errors import BackendError
from tests.support.batches import create_batch_raw, upload_raw, wait_for_raw
from tests.support.battles import battle, headers
from tests.support.inprocess import InProcessServer, in_process_server
from tests.support.services import FAKE_MODELS
from tests.support.verdicts import pairwise_verdict_json


class PrefersStrong(FakeBackend):
    """Judges like a perfect judge: the answer shown with the STRONG marker wins, in either order.
    While ``gate`` is clear, every call waits (to catch a batch before it has an output file)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()

    async def generate(self, request: GenerationRequest) -> Generation:
        if not self.gate.is_set():  # set from the test's thread: wait for it off the server's loop
            await asyncio.to_thread(self.gate.wait, 30)
        text = " ".join(str(m.get("content")) for m in request.messages)
        first_is_strong = text.find("STRONG:") < text.find("weak: a guess")
        winner = "response_1" if first_is_strong else "response_2"
        s1, s2 = (5, 2) if first_is_strong else (2, 5)
        self.history.append(request)
        return Generation(pairwise_verdict_json(s1, s2, winner), "stop", 10, 10)


@pytest.fixture
def fake() -> PrefersStrong:
    """The judge behind ``app``'s models."""
    return PrefersStrong()


def run_batch(app: InProcessServer, lines: list[str]) -> str:
    return create_batch_raw(app, upload_raw(app, "\n".join(lines) + "\n"))


def test_batch_report_json_and_html(app: InProcessServer) -> None:
    lines = [battle(f"b{i}", strong_first=i % 3 != 0, swap=i < 4) for i in range(12)]
    batch_id = run_batch(app, lines)
    assert wait_for_raw(app, batch_id, {"completed"}).request_counts.completed == 12
    resp = app.request("GET", f"{app.base_url}/batches/{batch_id}/report?bootstrap=200", headers=headers())
    assert resp.status == 200 and resp.headers["content-type"].startswith("application/json"), resp.body
    report = resp.json()
    assert report["batch"]["id"] == batch_id and report["lines"]["total"] == 12
    assert report["lines"]["judged"] == 12 and report["lines"]["inputs"] == 12
    pair = report["pairwise"]
    assert pair["outcomes"] == {"response_1": 8, "tie": 0, "response_2": 4}
    assert pair["win_rate"] == pytest.approx(8 / 12)
    assert [r["model"] for r in pair["leaderboard"]] == ["strong-model", "weak-model"]
    assert pair["leaderboard"][0]["win_rate"] == 1.0 and pair["leaderboard"][0]["battles"] == 12
    health = report["health"]
    assert health["parse_failure_rate"] == 0 and health["longer_wins"]["rate"] == 1.0
    assert health["swap_consistency"] == {"rate": 1.0, "ci": [1.0, 1.0], "n": 4}
    # 8 plain lines shown as given + 4 swapped lines with 2 games each; strong shown first in 6 + 4 games
    assert health["first_shown_wins"]["n"] == 16
    assert health["first_shown_wins"]["rate"] == pytest.approx(10 / 16)
    page = app.request(
        "GET", f"{app.base_url}/batches/{batch_id}/report?format=html&bootstrap=50", headers=headers()
    )
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    text = page.body.decode()
    assert 'id="chart-leaderboard"' in text and "strong-model" in text and "<script src=" not in text


def test_report_is_tenant_scoped_and_checks_its_parameters(app: InProcessServer) -> None:
    batch_id = run_batch(app, [battle("one", True)])
    wait_for_raw(app, batch_id, {"completed"})
    other = app.request(
        "GET",
        f"{app.base_url}/batches/{batch_id}/report",
        headers=headers(**{"X-On-Behalf-Of": "someone"}),
    )
    assert other.status == 404
    assert (
        other.json()["error"]["type"] == "invalid_request_error"
        and batch_id in other.json()["error"]["message"]
    )
    unknown = app.request("GET", f"{app.base_url}/batches/batch_nope/report", headers=headers())
    assert unknown.status == 404 and "error" in unknown.json()
    bad = app.request("GET", f"{app.base_url}/batches/{batch_id}/report?format=pdf", headers=headers())
    assert bad.status == 400 and bad.json()["error"]["param"] == "format"
    rounds = app.request("GET", f"{app.base_url}/batches/{batch_id}/report?bootstrap=0", headers=headers())
    assert rounds.status == 400 and rounds.json()["error"]["code"] == "integer_below_min_value"
    anonymous = app.request("GET", f"{app.base_url}/batches/{batch_id}/report")
    assert anonymous.status == 401


def test_report_of_a_batch_without_output_yet_is_a_clear_400(
    app: InProcessServer, fake: PrefersStrong
) -> None:
    fake.gate.clear()
    try:
        batch_id = run_batch(app, [battle("held", True)])
        resp = app.request("GET", f"{app.base_url}/batches/{batch_id}/report", headers=headers())
        assert resp.status == 400, resp.body
        error = resp.json()["error"]
        assert error["type"] == "invalid_request_error" and error["param"] == "batch_id"
        assert f"Batch {batch_id} has no output file yet (status " in error["message"]
    finally:
        fake.gate.set()
    assert wait_for_raw(app, batch_id, {"completed"}).request_counts.completed == 1
    assert app.request("GET", f"{app.base_url}/batches/{batch_id}/report", headers=headers()).status == 200


def test_report_when_every_line_failed(tmp_path: Path) -> None:
    """No output file, only an error file: the report counts the failures instead of refusing."""
    broken = FakeBackend()
    broken.enqueue(*(BackendError("upstream error 500") for _ in range(10)))
    with in_process_server(
        tmp_path, models=FAKE_MODELS, backends={"pai-judge": broken, "pai-judge-plus": broken},
        max_attempts=1, worker_poll_seconds=0.05,
    ) as srv:  # fmt: skip
        batch_id = run_batch(srv, [battle("x", True), battle("y", False)])
        done = wait_for_raw(srv, batch_id, {"completed", "failed"})
        assert done.output_file_id is None and done.error_file_id is not None
        report = srv.request("GET", f"{srv.base_url}/batches/{batch_id}/report", headers=headers()).json()
        assert report["lines"]["total"] == 2 and report["lines"]["failed"] == 2 and report["pairwise"] is None
