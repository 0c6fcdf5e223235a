"""The console as a person uses it, against a real ``jurist serve`` process (its own worker, SQLite in a
temp dir) whose judges are a remote provider's stand-in (``tests/support/judge_stub.py``: the longer
answer wins): sign in, judge in the playground and see per-criterion scores, upload a file and watch the
progress bar reach completed, open the report and see its charts drawn, label lines in review and see the
agreement change, try another tenant's batch URL (the 404 page), find an XSS payload shown as text with
nothing run, and sign out. Screenshots of each step go to artifacts/console/e2e-*.png."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.console import screenshot, sign_in
from tests.support.live import StubUpstream, free_socket
from tests.support.nodes import process, wait_http
from tests.support.services import API_KEY

OTHER_KEY = "sk-other-tenant-0123456789"
XSS = "<img src=x onerror=alert(1)><script>alert(2)</script>"
LINES = 24


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[str]:
    """``jurist serve`` on a free port, its judges the stub; its origin."""
    with StubUpstream(script="judge_stub.py") as stub:
        config = tmp_path / "jurist.toml"
        config.write_text(
            f'[models.pai-judge]\nbackend = "openai"\nbase_url = "{stub.base_url}"\n'
            f'[models.pai-judge-plus]\nbackend = "openai"\nbase_url = "{stub.base_url}"\n'
            "[models.pai-judge-plus.judging]\nswap = true\n"
        )
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        env = {
            "PATH": "/usr/bin:/bin", "JURIST_CONFIG": str(config), "JURIST_DATA_DIR": str(tmp_path / "data"),
            "JURIST_API_KEYS": f"{API_KEY},{OTHER_KEY}", "JURIST_WORKER_POLL_SECONDS": "0.05",
            "JURIST_LOG_LEVEL": "warning", "JURIST_PORT": str(port),
        }  # fmt: skip
        with process(["serve"], env):
            wait_http(port)
            yield f"http://127.0.0.1:{port}"


def batch_file(tmp_path: Path) -> Path:
    """Pairwise lines whose longer answer (the judge's winner) alternates sides; one answer is an attack."""
    path = tmp_path / "input.jsonl"
    rows = []
    for i in range(LINES):
        long, short = f"A full answer to question {i}, with its reasons.", f"Short {i}."
        first, second = (long, short) if i % 2 == 0 else (short, long)
        if i == 1:
            first = XSS
        item = {"question": f"Question {i}?", "answer1": first, "answer2": second}
        body = {"model": "pai-judge", "messages": [{"role": "user", "content": [
            {"mode": "pairwise", "type": "json", "json": item}]}]}  # fmt: skip
        rows.append(json.dumps({"custom_id": f"line-{i}", "method": "POST", "url": "/v1/chat/completions",
                                "body": body}))  # fmt: skip
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_person_judges_runs_a_batch_reads_its_report_and_labels_it(
    browser: Browser, page: Page, serve: str, tmp_path: Path
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    base = serve + "/v1"
    page.goto(serve + "/")
    expect(page).to_have_url(serve + "/console/sign-in")
    sign_in(page, base, API_KEY)
    screenshot(page, "e2e-1-signed-in")

    # the playground: a pairwise verdict with scores per criterion
    page.goto(serve + "/console/playground")
    page.get_by_label("Pairwise").check()
    page.get_by_label("Question").fill("Which answer explains the couplet?")
    page.get_by_label("Answer 1").fill("A couplet pairs two lines of equal length that answer each other.")
    page.get_by_label("Answer 2").fill(XSS)
    page.get_by_role("button", name="Judge").click()
    expect(page.locator("#verdict")).to_contain_text("Answer 1 is better")
    assert page.locator("#criteria tbody tr").count() == 8  # the default criteria, each scored
    expect(page.locator("#criteria")).to_contain_text("the longer answer covers more")
    assert page.locator("img[src=x]").count() == 0 and XSS in (page.locator("#prompt").text_content() or "")
    screenshot(page, "e2e-2-playground")

    # a batch: upload, watch it complete
    page.goto(serve + "/console/batches")
    page.get_by_label("Choose a JSONL file").set_input_files(str(batch_file(tmp_path)))
    page.get_by_role("button", name="Create batch").click()
    expect(page.locator("#batch-status")).to_have_text("completed", timeout=60_000)
    bar = page.locator("#batch-progress progress")
    assert bar.evaluate("b => [b.value, b.max]") == [LINES, LINES]
    batch_url = page.url
    screenshot(page, "e2e-3-batch")

    # its report, framed: the charts are drawn
    frame = page.frame_locator("#report-frame")
    expect(frame.locator("p.method")).to_be_attached(timeout=60_000)
    outcomes = frame.locator("section[data-chart='outcomes'] .barlayer .point path")
    expect(outcomes.first).to_be_attached()
    assert frame.locator("section.report-chart .main-svg").count() >= 3
    page.locator("#report-frame").screenshot(path=str(tmp_path / "frame.png"))

    # review: the attack is text; labels by keyboard move the agreement figures
    page.goto(batch_url + "/review?i=2")  # line-1, whose first answer is the attack
    expect(page.locator("#custom-id")).to_have_text("line-1")
    expect(page.locator("#answer-1")).to_have_text(XSS)
    assert page.locator("#answer-1 img, #answer-1 script").count() == 0
    page.goto(batch_url + "/review")
    expect(page.locator("#agreement-n")).to_have_text("0")
    page.locator("h1").click()
    page.keyboard.press("1")  # line-0: the longer answer is the first; the judge agrees
    expect(page.locator("#agreement-n")).to_have_text("1")
    expect(page.locator("#agreement-accuracy")).to_have_text("1.000")
    page.keyboard.press("j")
    expect(page.locator("#custom-id")).to_have_text("line-1")
    page.keyboard.press("2")  # line-1: the judge preferred the (longer) attack; the person the real answer
    expect(page.locator("#agreement-n")).to_have_text("2")
    expect(page.locator("#agreement-accuracy")).to_have_text("0.500")
    screenshot(page, "e2e-4-review")

    # another tenant: the same URL is the 404 page
    other = browser.new_context()
    theirs = other.new_page()
    sign_in(theirs, base, OTHER_KEY)
    response = theirs.goto(batch_url)
    assert response is not None and response.status == 404
    expect(theirs.locator("#error-status")).to_have_text("Not found")
    screenshot(theirs, "e2e-5-other-tenant")
    other.close()

    # sign out: the console asks to sign in again
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(serve + "/console/sign-in")
    page.goto(batch_url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert dialogs == []  # no script of a caller ever ran
