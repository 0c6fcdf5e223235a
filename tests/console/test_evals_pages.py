"""The console's evals pages, as a person uses them (headless Chromium against a live server): an eval and
a jsonl run made with the official SDK (string_check and text_similarity graders; rows that pass, fail one
criterion, fail both, and error) are listed, the eval page shows its criteria and its run's pass rates,
the run page (the run's ``report_url``) its counts, per-criterion rates and rows, filtered by status and
by one criterion's verdict, a page at a time (a criterion filter reading a bounded number of rows a page);
another tenant gets the 404 page; caller text (an eval named like a script, items holding markup) is
text on every page, never markup; every page is ``nosniff``."""

from __future__ import annotations

import time
from typing import Any

import pytest
from openai import OpenAI
from playwright.sync_api import ConsoleMessage, Dialog, Page, Response, expect

from jurist.api.console import eval_items
from tests.support.console import origin, screenshot, sign_in
from tests.support.live import LiveServer
from tests.support.services import API_KEY

XSS = "<script>alert(1)</script>"
MARKUP = "<img src=x onerror=alert(2)>"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"question": {"type": "string"}, "answer": {"type": "string"}},
    "required": ["question", "answer"],
}
CRITERIA: list[Any] = [
    {"type": "string_check", "name": "exact", "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}",
     "operation": "eq"},
    {"type": "text_similarity", "name": "close", "input": "{{ sample.output_text }}",
     "reference": "{{ item.answer }}", "evaluation_metric": "fuzzy_match", "pass_threshold": 0.8},
]  # fmt: skip
ROWS = 60
KINDS = [  # row i is KINDS[i % 4]: (item, output); verdicts exact/close
    ({"answer": "4"}, "4"),  # pass, pass
    ({"answer": "Paris"}, "Pariss"),  # fail, pass
    ({"answer": "blue"}, "green"),  # fail, fail
    ({}, "x"),  # no answer: the item does not match the schema, the row errors
]
LONG = f"{MARKUP} why is the sky blue " * 12  # a long question: clipped, the whole on demand


def watch(page: Page) -> list[str]:
    """What the page did that it must not: an injected script's alert, a console error (a refused
    script or style: the CSP; the 400 and 404 pages the test asks for are expected)."""
    problems: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        problems.append(dialog.message)
        dialog.dismiss()

    def console(message: ConsoleMessage) -> None:
        expected = message.location["url"].endswith("/favicon.ico") or "status of 40" in message.text
        if message.type == "error" and not expected:
            problems.append(message.text)

    page.on("dialog", dismiss)
    page.on("console", console)
    return problems


def rows() -> list[Any]:
    out = []
    for i in range(ROWS):
        item, output = KINDS[i % 4]
        out.append(
            {"item": {"question": LONG if i == 1 else f"q{i}", **item}, "sample": {"output_text": output}}
        )
    return out


def an_eval(client: OpenAI, name: str = "qa") -> Any:
    return client.evals.create(
        name=name,
        data_source_config={"type": "custom", "item_schema": SCHEMA, "include_sample_schema": True},
        testing_criteria=CRITERIA,
        metadata={"team": MARKUP},
    )


def finished_run(client: OpenAI, eval_id: str, content: list[Any], name: str = "baseline") -> Any:
    run: Any = client.evals.runs.create(
        eval_id,
        name=name,
        data_source={"type": "jsonl", "source": {"type": "file_content", "content": content}},
    )
    deadline = time.monotonic() + 30
    while run.status not in ("completed", "failed", "canceled"):
        assert time.monotonic() < deadline, run.status
        time.sleep(0.1)
        run = client.evals.runs.retrieve(run.id, eval_id=eval_id)
    assert run.status == "completed" and run.result_counts.total == len(content)
    return run


def cells(page: Page, selector: str) -> list[list[str]]:
    found = page.locator(f"{selector} > tbody > tr")
    return [
        [c.strip() for c in found.nth(i).locator(":scope > th, :scope > td").all_inner_texts()]
        for i in range(found.count())
    ]


def shown_rows(page: Page) -> list[int]:
    found = page.locator("#items > tbody > tr")
    return [int(found.nth(i).get_attribute("data-row") or "-1") for i in range(found.count())]


def nosniff(response: Response | None, status: int = 200) -> None:
    assert response is not None and response.status == status, response
    assert response.headers["x-content-type-options"] == "nosniff"


def choose(page: Page, status: str = "All", criterion: str = "any") -> None:
    page.locator("#f-status").select_option(label=status)
    page.locator("#f-criterion").select_option(label=criterion)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()


def test_the_run_page_shows_counts_rates_and_filters_its_rows(
    page: Page, server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    problems = watch(page)
    client = server.sdk()
    made = an_eval(client)
    run = finished_run(client, made.id, rows())
    sign_in(page, server.base_url, API_KEY)
    base = origin(server.base_url)

    page.goto(base + "/console/batches")
    page.get_by_role("link", name="Evals", exact=True).click()  # in the nav
    assert [row[:3] for row in cells(page, "#eval-list")] == [["qa", made.id, "2"]]
    page.get_by_role("link", name="qa").click()
    expect(page.locator("#eval-name")).to_have_text("qa")
    criteria = cells(page, "#criteria")
    assert [c[:3] for c in criteria] == [["1", "exact", "string_check"], ["2", "close", "text_similarity"]]
    assert "operation\neq" in criteria[0][3] and "pass_threshold\n0.8" in criteria[1][3]
    expect(page.locator("#data-source-config")).to_contain_text("custom")
    screenshot(page, "eval-page")
    expect(page.locator("#eval-metadata")).to_contain_text(MARKUP)  # as text
    listed = page.locator(f"#run-list tr[data-run='{run.id}']")
    expect(listed.locator("[data-field='rows']")).to_have_text(str(ROWS))
    expect(listed.locator("[data-field='graded']")).to_have_text(str(ROWS))
    expect(listed.locator("[data-field='pass-rate']")).to_have_text("25.0%")
    assert cells(page, f"#run-list tr[data-run='{run.id}'] table.mini") == [
        ["exact", "15", "30", "15", "25.0%"],
        ["close", "30", "15", "15", "50.0%"],
    ]
    screenshot(page, "eval-page")

    page.locator(f"#run-list tr[data-run='{run.id}'] a[data-field='name']").click()
    expect(page.locator("#run-id")).to_have_text(run.id)
    expect(page.locator("#run-status")).to_have_text("completed")
    counts = {
        k: page.locator(f"#count-{k}").inner_text() for k in ("rows", "total", "passed", "failed", "errored")
    }
    assert counts == {"rows": "60", "total": "60", "passed": "15", "failed": "30", "errored": "15"}
    expect(page.locator("#pass-rate")).to_have_text("25.0%")
    assert cells(page, "#criterion-results") == [
        ["exact", "string_check", "15", "30", "15", "25.0%"],
        ["close", "text_similarity", "30", "15", "15", "50.0%"],
    ]
    expect(page.locator("#no-usage")).to_be_visible()  # no model was called

    # all rows, 50 a page; row 1 side by side: its item (clipped, whole on demand), output, verdicts, score
    assert shown_rows(page) == list(range(50))
    expect(page.locator("#matching-count")).to_have_text("60")
    second = page.locator("#items tr[data-row='1']")
    assert [second.locator(f"td[data-criterion='{k}']").get_attribute("data-verdict") for k in (0, 1)] == [
        "fail",
        "pass",
    ]
    expect(second.locator("td[data-criterion='1'] [data-field='score']")).to_have_text("0.909")
    expect(second.locator("[data-field='output']")).to_have_text("Pariss")
    whole = second.locator("[data-field='item'] details pre")
    expect(whole).not_to_be_visible()
    second.locator("[data-field='item'] summary").click()
    expect(whole).to_contain_text(LONG.strip())  # the markup, as text
    screenshot(page, "eval-run-page")  # a long item expanded, a row that errored
    errored = page.locator("#items tr[data-row='3']")
    expect(errored.locator("[data-field='row-error']")).to_contain_text("item_schema")
    screenshot(page, "eval-run-page")
    page.get_by_role("link", name="Next 50 rows").click()
    assert shown_rows(page) == list(range(50, 60))
    expect(page.locator("#showing")).to_have_text("51–60")
    expect(page.locator("#next-page")).to_have_count(0)

    every = range(ROWS)
    for status, criterion, expected in [
        ("Failed", "any", [i for i in every if i % 4 in (1, 2)]),
        ("Errored", "any", [i for i in every if i % 4 == 3]),
        ("All", "exact failed", [i for i in every if i % 4 in (1, 2)]),
        ("All", "close failed", [i for i in every if i % 4 == 2]),
        ("All", "close errored", [i for i in every if i % 4 == 3]),
        ("Passed", "close failed", []),
    ]:
        choose(page, status, criterion)
        assert shown_rows(page) == expected, (status, criterion)
        expect(page.locator("#matching-count")).to_have_text(str(len(expected)))
        expect(page.locator("#scan-stopped")).to_have_count(0)
    expect(page.locator("#no-items")).to_be_visible()
    choose(page, "Failed", "close failed")
    assert {
        page.locator(f"#items tr[data-row='{i}']").get_attribute("data-status") for i in shown_rows(page)
    } == {"fail"}
    screenshot(page, "eval-run-filtered")

    monkeypatch.setattr(eval_items, "SCAN_LIMIT", 40)  # a criterion filter reads 40 rows a page at most
    choose(page, "All", "close failed")
    assert shown_rows(page) == [i for i in range(40) if i % 4 == 2]
    expect(page.locator("#scan-note")).to_contain_text("at most 40")
    expect(page.locator("#scan-stopped")).to_contain_text("read 40 rows")
    page.locator("#read-on").click()
    assert shown_rows(page) == [i for i in range(40, ROWS) if i % 4 == 2]
    expect(page.locator("#scan-stopped")).to_have_count(0)
    expect(page.locator("#next-page")).to_have_count(0)

    nosniff(page.goto(run.report_url))  # the API's report_url is this page
    expect(page.locator("#run-id")).to_have_text(run.id)
    nosniff(page.goto(base + f"/console/evals/{made.id}/runs/{run.id}?criterion=7:failed"), 400)
    assert problems == []


def test_another_tenant_gets_404_and_caller_text_is_text(page: Page, server: LiveServer) -> None:
    problems = watch(page)
    client = server.sdk()
    made = an_eval(client, XSS)
    run = finished_run(client, made.id, rows()[:4], name=XSS)
    elsewhere = an_eval(client, "another")
    base = origin(server.base_url)
    sign_in(page, server.base_url, API_KEY)
    nosniff(page.goto(base + "/console/evals"))
    expect(page.locator(f"#eval-list tr[data-eval='{made.id}'] [data-field='name']")).to_have_text(XSS)
    nosniff(page.goto(base + f"/console/evals/{made.id}"))
    expect(page.locator("#eval-name")).to_have_text(XSS)
    expect(page.locator(f"#run-list tr[data-run='{run.id}'] [data-field='name']")).to_have_text(XSS)
    nosniff(page.goto(base + f"/console/evals/{made.id}/runs/{run.id}"))
    expect(page.locator("#run-name")).to_have_text(XSS)
    expect(page.locator("#back-to-eval")).to_contain_text(XSS)
    assert page.title().startswith(f"Run {XSS}")
    assert page.locator("main script, main img").count() == 0
    screenshot(page, "eval-run-xss")
    missing = [
        (f"/console/evals/{elsewhere.id}/runs/{run.id}", run.id),  # this tenant's run, under another eval
        ("/console/evals/eval_0000000000000000", "eval_0000000000000000"),
    ]
    for url, named in missing:
        nosniff(page.goto(base + url), 404)
        expect(page.locator("#error-message")).to_contain_text(named)

    page.context.clear_cookies()
    sign_in(page, server.base_url, API_KEY, on_behalf_of="someone-else")  # another tenant
    page.goto(base + "/console/evals")
    expect(page.locator("#no-evals")).to_be_visible()
    for url, named in [
        (f"/console/evals/{made.id}", made.id),
        (f"/console/evals/{made.id}/runs/{run.id}", made.id),
        (f"/console/evals/{made.id}/runs/{run.id}?status=failed", made.id),
    ]:
        nosniff(page.goto(base + url), 404)
        expect(page.locator("#error-status")).to_have_text("Not found")
        expect(page.locator("#error-message")).to_contain_text(named)
    assert problems == []
