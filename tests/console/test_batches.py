"""The console's batches, as a person uses them (headless Chromium against a live server): a JSONL file
chosen in the drop zone's input becomes a batch whose progress bar moves to completed, its page embeds
the report (every chart drawn) and offers its files; a batch is cancelled; a file that fails validation
shows its line errors with their codes; an upload refused outright shows the API's message; another
tenant's batch and files are the 404 page; caller text (file name, custom_id, metadata, competitor
names) is text on every page, never markup."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from jurist.backends.base import Generation, GenerationRequest
from tests.console.conftest import ADMIN
from tests.support.batches import create_batch_raw, upload_raw
from tests.support.console import ARTIFACTS, origin, screenshot, sign_in
from tests.support.http import multipart
from tests.support.live import LiveServer, live_server
from tests.support.services import API_KEY, FAKE_MODELS
from tests.support.trust import Judge, chat_body, item, label

OTHER_KEY = "sk-other-tenant-0123456789"
XSS = "<img src=x onerror=alert(1)>"
SCRIPT_NAME = "<script>alert('model')</script>"
COMPETITORS = ("alpha", "beta", SCRIPT_NAME)
LINES = 120  # two judge calls each (swapped), two at once, 50 ms a call: ~6 s to watch


class SlowJudge(Judge):
    """The scripted judge, 50 ms a call: slow enough to watch a progress bar move."""

    async def generate(self, request: GenerationRequest) -> Generation:
        await asyncio.sleep(0.05)
        return await super().generate(request)


@pytest.fixture
def judge() -> Judge:
    return SlowJudge(biased=True)


@pytest.fixture
def server(tmp_path: Path, judge: Judge) -> Iterator[LiveServer]:
    """Two tenants' keys; two batch lines at once per model (so a batch takes a moment)."""
    models = {name: {**config, "max_concurrency": 2} for name, config in FAKE_MODELS.items()}
    backends = dict.fromkeys(FAKE_MODELS, judge)
    with live_server(
        tmp_path, models=models, backends=backends, admin_key=ADMIN, api_keys=[API_KEY, OTHER_KEY]
    ) as srv:
        yield srv


def arena_lines(count: int, custom_id: str = "line") -> str:
    """Pairwise lines between three competitors (one named like a script), as JSONL."""
    out = []
    for i in range(count):
        a, b = COMPETITORS[i % 3], COMPETITORS[(i + 1) % 3]
        body = chat_body("pai-judge", item(f"{custom_id}{i}", hard=i % 4 == 0, strong_first=i % 2 == 0))
        line = {"custom_id": f"{custom_id}{i}", "method": "POST", "url": "/v1/chat/completions",
                "body": body, "metadata": {"model_a": a, "model_b": b}}  # fmt: skip
        out.append(json.dumps(line))
    return "\n".join(out) + "\n"


def watch(page: Page) -> list[str]:
    """What the page did that it must not: problems (an injected script's alert) and console errors (a
    refused script or style: the CSP)."""
    problems: list[str] = []

    def dismiss(dialog: Any) -> None:
        problems.append(dialog.message)
        dialog.dismiss()

    def console(message: ConsoleMessage) -> None:
        # not the browser's own favicon request, nor the refused upload's 400 (the test expects it)
        expected = message.location["url"].endswith("/favicon.ico") or "(Bad Request)" in message.text
        if message.type == "error" and not expected:
            problems.append(message.text)

    page.on("dialog", dismiss)
    page.on("console", console)
    return problems


def choose(page: Page, name: str, text: str) -> None:
    page.goto(origin_of(page) + "/console/batches")
    page.get_by_label("Choose a JSONL file").set_input_files(
        {"name": name, "mimeType": "application/jsonl", "buffer": text.encode()}
    )
    page.get_by_role("button", name="Create batch").click()


def drop(page: Page, name: str, text: str) -> None:
    """Drop a file on the drop zone, as a person dragging it from their desktop would."""
    page.goto(origin_of(page) + "/console/batches")
    page.evaluate(
        """([name, text]) => {
            const data = new DataTransfer();
            data.items.add(new File([text], name, { type: "application/jsonl" }));
            const zone = document.getElementById("dropzone");
            zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
            zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
        }""",
        [name, text],
    )


def origin_of(page: Page) -> str:
    return page.url.split("/console")[0]


def test_a_dropped_file_runs_to_completed_with_its_report_and_files(page: Page, server: LiveServer) -> None:
    problems = watch(page)
    sign_in(page, server.base_url, API_KEY)
    choose(page, f"{XSS}.jsonl", arena_lines(LINES))
    expect(page).to_have_url(re.compile(r"/console/batches/batch_\w+$"))
    batch_id = page.url.rsplit("/", 1)[1]
    bar = page.locator("#batch-progress progress")
    seen: set[tuple[int, int]] = set()
    deadline = time.monotonic() + 60
    while page.locator("#batch-status").inner_text() != "completed" and time.monotonic() < deadline:
        value = bar.evaluate("b => [b.value, b.max]")
        seen.add((int(value[0]), int(value[1])))
        time.sleep(0.1)
    expect(page.locator("#batch-status")).to_have_text("completed")
    assert any(0 < done < total for done, total in seen), seen  # the bar moved while it ran
    assert bar.evaluate("b => [b.value, b.max]") == [LINES, LINES]
    expect(page.locator("#count-completed")).to_have_text(str(LINES))
    expect(page.locator("#batch-model")).to_have_text("pai-judge")
    expect(page.locator("#batch-files")).to_contain_text(f"{XSS}.jsonl")  # the file name, as text

    frame = page.frame_locator("#report-frame")
    sections = frame.locator("section.report-chart")
    expect(frame.locator("p.method")).to_be_attached(timeout=30_000)  # the whole report has arrived
    charts = [sections.nth(i).get_attribute("data-chart") for i in range(sections.count())]
    assert {"outcomes", "leaderboard", "health"} <= set(charts), charts
    for key in charts:
        expect(frame.locator(f"section[data-chart='{key}'] .js-plotly-plot .main-svg").first).to_be_attached()
    expect(frame.locator("section[data-chart='leaderboard'] .scatterlayer .points path")).to_have_count(3)
    expect(frame.locator("section[data-chart='leaderboard']")).to_contain_text("alert('model')")
    bars = frame.locator("section[data-chart='outcomes'] .barlayer .point path")
    expect(bars).to_have_count(3)
    bar = bars.last.bounding_box()
    assert bar is not None and bar["height"] > 10  # drawn, not an empty placeholder
    page.locator("#report-frame").scroll_into_view_if_needed()
    screenshot(page, "batch-page")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#report-frame").screenshot(path=str(ARTIFACTS / "batch-page-report-frame.png"))

    with page.expect_download() as found:
        page.locator("#batch-files a[data-file='output']").click()
    lines = Path(found.value.path()).read_text().splitlines()
    assert sorted(json.loads(x)["custom_id"] for x in lines) == sorted(f"line{i}" for i in range(LINES))

    page.goto(origin(server.base_url) + "/console/batches")
    row = page.locator(f"#batch-list tr[data-batch='{batch_id}']")
    expect(row.locator("[data-field='status']")).to_have_text("completed")
    assert row.locator("progress").evaluate("b => [b.value, b.max]") == [LINES, LINES]
    expect(row.locator("[data-field='eta']")).to_have_text("done")
    screenshot(page, "batches-list")

    report = page.request.get(origin(server.base_url) + f"/console/batches/{batch_id}/report")
    assert report.status == 200 and "sandbox allow-scripts" in report.headers["content-security-policy"]
    assert SCRIPT_NAME not in report.text() and XSS not in report.text()  # escaped in tables and chart JSON
    page.goto(origin(server.base_url) + f"/console/batches/{batch_id}/report")
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_attached(timeout=30_000)
    screenshot(page, "batch-report")

    # with human labels, the framed report adds the agreement and the confidence figures
    gold = [(f"line{i}", "", "1" if i % 2 == 0 else "2") for i in range(LINES)]
    assert len(label(server, batch_id, gold)["data"]) == LINES
    page.goto(origin(server.base_url) + f"/console/batches/{batch_id}")
    frame = page.frame_locator("#report-frame")
    expect(frame.locator("p.method")).to_be_attached(timeout=30_000)
    expect(frame.locator("section[data-chart='reliability'] .scatterlayer .trace").first).to_be_attached()
    expect(frame.locator("body")).to_contain_text("Confusion matrix (pairwise)")
    assert problems == []


def batch_id_of(row: Any) -> str:
    batch_id: str = row.get_attribute("data-batch")
    return batch_id


def cookie_of(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "jurist_session")


def test_a_running_batch_is_cancelled_with_the_csrf_token_only(page: Page, server: LiveServer) -> None:
    sign_in(page, server.base_url, API_KEY)
    choose(page, "long.jsonl", arena_lines(400))
    expect(page).to_have_url(re.compile(r"/console/batches/batch_\w+$"))
    batch_id = page.url.rsplit("/", 1)[1]
    page.goto(origin(server.base_url) + "/console/batches")  # the list's bar moves too
    bar = page.locator(f"tr[data-batch='{batch_id}'] progress")
    first = bar.evaluate("b => b.value")
    expect(bar).not_to_have_attribute("value", str(int(first)), timeout=10_000)
    assert bar.evaluate("b => b.max") == 400
    expect(page.locator(f"tr[data-batch='{batch_id}'] [data-field='eta']")).not_to_have_text("—")
    screenshot(page, "batches-list-running")
    page.goto(origin(server.base_url) + f"/console/batches/{batch_id}")
    forged = server.request(
        "POST", origin(server.base_url) + f"/console/batches/{batch_id}/cancel", "csrf=wrong",
        {"Cookie": f"jurist_session={cookie_of(page)}", "Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert forged.status == 403 and b"security token" in forged.body
    body, content_type = multipart({"csrf": "wrong"}, ("x.jsonl", arena_lines(1).encode()))
    unsigned = server.request(
        "POST", origin(server.base_url) + "/console/batches", body,
        {"Cookie": f"jurist_session={cookie_of(page)}", "Content-Type": content_type},
    )  # fmt: skip
    assert unsigned.status == 403 and len(server.sdk().batches.list().data) == 1  # no batch made
    token = page.locator("meta[name='csrf-token']").get_attribute("content") or ""
    body, content_type = multipart({"csrf": token}, ("x.jsonl", arena_lines(1).encode()))
    in_form = server.request(
        "POST", origin(server.base_url) + "/console/batches", body,
        {"Cookie": f"jurist_session={cookie_of(page)}", "Content-Type": content_type},
    )  # fmt: skip
    assert in_form.status == 400 and "X-CSRF-Token header" in in_form.json()["error"]["message"]
    assert len(server.sdk().batches.list().data) == 1
    page.get_by_role("button", name="Cancel batch").click()
    expect(page.locator("#batch-status")).to_have_text("cancelled", timeout=30_000)
    done = int(page.locator("#count-completed").inner_text())
    assert done < 400 and page.locator("#count-total").inner_text() == "400"
    expect(page.get_by_role("button", name="Cancel batch")).to_have_count(0)
    screenshot(page, "batch-cancelled")


def test_a_file_failing_validation_shows_its_line_errors_and_a_refused_upload_the_api_message(
    page: Page, server: LiveServer
) -> None:
    problems = watch(page)
    sign_in(page, server.base_url, API_KEY)
    choose(page, "notes.txt", arena_lines(2))  # refused outright: no batch, the API's 400 message
    expect(page.locator("#upload-error")).to_have_text("Invalid file format for Batch API. Must be .jsonl")
    expect(page.locator("#batch-list tbody tr")).to_have_count(0)

    good = json.loads(arena_lines(1).splitlines()[0])
    lines = [
        json.dumps({**good, "custom_id": XSS}),
        "this is not JSON",
        json.dumps({k: v for k, v in good.items() if k != "custom_id"}),
        json.dumps({**good, "custom_id": XSS}),
        json.dumps({**good, "custom_id": "z", "body": {**good["body"], "model": "no-such-judge"}}),
    ]
    drop(page, "broken.jsonl", "\n".join(lines) + "\n")  # dropped: the same input, then sent
    expect(page).to_have_url(re.compile(r"/console/batches/batch_\w+$"))
    expect(page.locator("#batch-status")).to_have_text("failed", timeout=30_000)
    rows = page.locator("#batch-errors tbody tr")
    expect(rows).to_have_count(4)
    found = [[cell.strip() for cell in rows.nth(i).locator("td").all_inner_texts()] for i in range(4)]
    assert [row[:2] for row in found] == [
        ["2", "invalid_json_line"],
        ["3", "missing_required_parameter"],
        ["4", "duplicate_custom_id"],
        ["5", "model_not_found"],
    ]
    assert XSS in found[2][2]  # the custom_id in the message, as text
    assert page.locator("#batch-errors img").count() == 0
    screenshot(page, "batch-validation-errors")
    assert problems == []


def test_another_tenants_batch_and_files_are_the_404_page(page: Page, server: LiveServer) -> None:
    other = server.sdk(OTHER_KEY)
    uploaded = other.files.create(file=("theirs.jsonl", arena_lines(3).encode()), purpose="batch")
    theirs = other.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    mine = create_batch_raw(server, upload_raw(server, arena_lines(3)))
    sign_in(page, server.base_url, API_KEY)
    base = origin(server.base_url)
    page.goto(base + "/console/batches")
    expect(page.locator("#batch-list tbody tr")).to_have_count(1)
    expect(page.locator(f"tr[data-batch='{mine}']")).to_have_count(1)
    unknown = "batch_000000000000000000000000"
    for url, missing in [
        (f"/console/batches/{theirs.id}", theirs.id),
        (f"/console/batches/{unknown}", unknown),
        (f"/console/batches/{theirs.id}/report", theirs.id),
        (f"/console/files/{uploaded.id}/content", uploaded.id),
    ]:
        response = page.goto(base + url)
        assert response is not None and response.status == 404, url
        expect(page.locator("#error-status")).to_have_text("Not found")
        expect(page.locator("#error-message")).to_contain_text(missing)
    screenshot(page, "batch-not-found")
    polled = page.request.get(base + f"/console/batches/progress?id={theirs.id}&id={mine}").json()
    assert [p["id"] for p in polled["batches"]] == [mine]


def test_batch_metadata_is_text(page: Page, server: LiveServer) -> None:
    problems = watch(page)
    client = server.sdk()
    uploaded = client.files.create(file=("m.jsonl", arena_lines(2).encode()), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
        metadata={"note": XSS, SCRIPT_NAME: "x"},
    )  # fmt: skip
    sign_in(page, server.base_url, API_KEY)
    page.goto(origin(server.base_url) + f"/console/batches/{batch.id}")
    expect(page.locator("#batch-metadata")).to_contain_text(XSS)
    expect(page.locator("#batch-metadata")).to_contain_text(SCRIPT_NAME)
    assert page.locator("#batch-metadata img, #batch-metadata script").count() == 0
    assert problems == []


def test_the_list_pages_on_the_server_newest_first(page: Page, server: LiveServer) -> None:
    file_id = upload_raw(server, arena_lines(1))
    made = [create_batch_raw(server, file_id) for _ in range(22)]
    sign_in(page, server.base_url, API_KEY)
    page.goto(origin(server.base_url) + "/console/batches")
    rows = page.locator("#batch-list tbody tr")
    expect(rows).to_have_count(20)
    assert [batch_id_of(rows.nth(i)) for i in range(20)] == made[::-1][:20]
    expect(page.locator("#newest")).to_have_count(0)
    page.get_by_role("link", name="Older batches").click()
    expect(rows).to_have_count(2)
    assert [batch_id_of(rows.nth(i)) for i in range(2)] == made[1::-1]
    expect(page.get_by_role("link", name="Older batches")).to_have_count(0)
    page.get_by_role("link", name="Newest").click()
    expect(rows).to_have_count(20)
