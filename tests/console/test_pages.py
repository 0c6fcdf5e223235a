"""The models, usage and API reference pages, as a person uses them (headless Chromium against a live
server): the configured judges with their calls per item; usage after real judge calls, filtered by
days, the admin seeing every tenant and a tenant only its own; the reference of /openapi.json with the
seed's examples, one of them run as shown against the server."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.console.conftest import ADMIN
from tests.support.console import ARTIFACTS, origin, screenshot, sign_in
from tests.support.live import LiveServer, live_server
from tests.support.services import API_KEY
from tests.support.trust import Judge, chat_body, headers, item, label, lines, run

UPSTREAM = {"backend": "openai", "base_url": "http://127.0.0.1:9/v1"}
MODELS = {
    "pai-judge": {**UPSTREAM, "input_price_per_million": 2.0, "output_price_per_million": 8.0},
    "pai-judge-plus": {**UPSTREAM, "description": "the careful one", "swap": True, "samples": 2},
    # a real upstream that is down (nothing listens on port 9): guarded by the shared circuit breaker
    "remote-judge": {**UPSTREAM, "circuit_failures": 1, "circuit_cooldown_seconds": 600},
}
SCRIPTED = ("pai-judge", "pai-judge-plus")
OWN = "key_" + hashlib.sha256(API_KEY.encode()).hexdigest()[:16]  # API_KEY's tenant


@pytest.fixture
def server(tmp_path: Path, judge: Judge) -> Iterator[LiveServer]:
    """The console's live server, with a priced pai-judge and a pai-judge-plus of 2 samples × 2 orders."""
    backends = dict.fromkeys(SCRIPTED, judge)
    with live_server(tmp_path, models=MODELS, backends=backends, admin_key=ADMIN) as srv:
        yield srv


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def judge_once(server: LiveServer, key: str, model: str) -> None:
    """One pairwise judgment (the item asks for both orders) through the API with ``key``."""
    body = json.dumps(chat_body(model, item("u1", False, True)))
    resp = server.request(
        "POST", f"{server.base_url}/chat/completions", body, {"Authorization": f"Bearer {key}"}
    )
    assert resp.status == 200, resp.body


def api_usage(server: LiveServer, key: str, query: str = "") -> Any:
    resp = server.request(
        "GET", f"{server.base_url}/usage{query}", headers={"Authorization": f"Bearer {key}"}
    )
    assert resp.status == 200, resp.body
    return resp.json()


def new_tenant_key(server: LiveServer, tenant: str) -> str:
    body = json.dumps({"name": tenant, "tenant": tenant})
    resp = server.request("POST", f"{server.base_url}/admin/keys", body, {"Authorization": f"Bearer {ADMIN}"})
    assert resp.status == 201, resp.body
    key: str = resp.json()["key"]
    return key


def cells(page: Page, selector: str) -> list[list[str]]:
    rows = page.locator(f"{selector} tbody tr")
    return [[c.strip() for c in rows.nth(i).locator("th, td").all_inner_texts()] for i in range(rows.count())]


def next_field(page: Page) -> str:
    """Where Tab leads from the focused field (a date field's day, month and year take a Tab each)."""
    start = page.evaluate("document.activeElement.id")
    for _ in range(4):
        page.keyboard.press("Tab")
        now: str = page.evaluate("document.activeElement.id")
        if now != start:
            return now
    return start


def test_the_models_page_shows_each_judge_with_its_calls_per_item(page: Page, server: LiveServer) -> None:
    sign_in(page, server.base_url, API_KEY)
    page.get_by_role("link", name="Models").click()
    expect(page).to_have_url(origin(server.base_url) + "/console/models")
    expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()
    for name in ("pai-judge", "pai-judge-plus", "pai-judge-auto"):
        expect(page.locator(f"#model-{name} .health")).to_have_text("ready")
    assert cells(page, "#model-pai-judge .calls") == [["single", "1"], ["pairwise", "1"]]
    assert cells(page, "#model-pai-judge-plus .calls") == [["single", "2"], ["pairwise", "4"]]
    # the cascade: every item pays the first stage, an escalated one the second; no calibration yet
    assert cells(page, "#model-pai-judge-auto .calls") == [
        ["single", "1", "3", "no calibration yet", "pai-judge: ?"],
        ["pairwise", "1", "5", "no calibration yet", "pai-judge: ?"],
    ]
    auto = page.locator("#model-pai-judge-auto")
    expect(auto).to_contain_text("cascade of pai-judge → pai-judge-plus")
    plus = page.locator("#model-pai-judge-plus")
    expect(plus).to_contain_text("the careful one")
    expect(plus).to_contain_text("both orders (swap); 2 samples")
    expect(page.locator("#model-pai-judge")).to_contain_text("input 2.0, output 8.0")
    expect(plus).to_contain_text("Prices per 1M tokens not set")
    remote = page.locator("#model-remote-judge")
    expect(remote.locator(".health")).to_have_text("not ready")
    expect(remote.locator("dd").nth(1)).to_have_text("not ready; shared upstream gate closed")
    screenshot(page, "models")

    # a failed call (both orders fail) opens the circuit (at one failure, here): no node calls until a probe
    body = json.dumps(chat_body("remote-judge", item("r1", False, True)))
    failed = server.request(
        "POST", f"{server.base_url}/chat/completions", body, {"Authorization": f"Bearer {API_KEY}"}
    )
    assert failed.status >= 500, failed.body
    page.reload()
    expect(remote.locator("dd").nth(1)).to_have_text(
        re.compile(r"^not ready; shared upstream gate open \(circuit open after \d failures? in a row; the next "
                   r"call probes in \d+ s\)$")
    )  # fmt: skip
    screenshot(page, "models-circuit-open")


def test_a_cascades_expected_calls_come_from_the_tenants_calibrations(page: Page, server: LiveServer) -> None:
    batch = lines("pai-judge-auto", easy=8, hard=4)
    label(server, run(server, batch), batch)  # fits the tenant's calibrations of both stages
    resp = server.request("GET", f"{server.base_url}/models/pai-judge-auto", headers=headers())
    cascade = resp.json()["cascade"]
    expected, share = cascade["calls_per_item"]["pairwise"]["expected"], cascade["escalation"]["pairwise"][0]
    assert share > 0 and expected == pytest.approx(1 + share * 4, abs=1e-3)  # pai-judge-plus: 4 calls
    sign_in(page, server.base_url, API_KEY)
    page.goto(origin(server.base_url) + "/console/models")
    pairwise = cells(page, "#model-pai-judge-auto .calls")[1]
    assert pairwise == ["pairwise", "1", "5", str(expected), f"pai-judge: {share * 100:.0f}%"]
    screenshot(page, "models-calibrated")


def test_the_admin_session_has_no_models_page(page: Page, server: LiveServer) -> None:
    sign_in(page, server.base_url, ADMIN)
    response = page.goto(origin(server.base_url) + "/console/models")
    assert response is not None and response.status == 403


def test_usage_shows_the_apis_figures_and_filters_by_days(page: Page, server: LiveServer) -> None:
    judge_once(server, API_KEY, "pai-judge")
    sign_in(page, server.base_url, API_KEY)
    page.get_by_role("link", name="Usage").click()
    expected = api_usage(server, API_KEY)["totals"]
    assert expected["judge_calls"] == 2 and expected["total_tokens"] == 40  # both orders, 10 + 10 each
    figures = [str(expected[k]) for k in ("requests", "judge_calls", "prompt_tokens", "completion_tokens",
                                          "total_tokens", "cache_hits", "batch_lines")]  # fmt: skip
    assert cells(page, "#usage-rows") == [
        [today(), "pai-judge", *figures, "0.0002"]
    ]  # 20 × 2 + 20 × 8 per 1M
    assert cells(page, "#usage-totals") == [[*figures, "0.0002"]]
    expect(page.locator("#usage-chart progress")).to_have_attribute("value", "40")
    expect(page.get_by_label("From")).to_have_value(
        (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=29)).isoformat()
    )
    screenshot(page, "usage")

    # by keyboard: the fields in order, Enter submits
    page.get_by_label("From").fill("2020-01-01")
    assert next_field(page) == "usage-end"
    page.get_by_label("To (included").fill("2020-01-31")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/usage?start=2020-01-01&end=2020-01-31")
    expect(page.locator("#usage-range")).to_have_text("From 2020-01-01 to 2020-01-31.")
    expect(page.locator("#usage-empty")).to_be_visible()
    assert cells(page, "#usage-totals") == [["0"] * 7 + ["0.0000"]]

    page.get_by_label("From").fill(today())
    page.get_by_label("To (included").fill(today())
    page.get_by_role("button", name="Show").click()
    assert cells(page, "#usage-rows") == [[today(), "pai-judge", *figures, "0.0002"]]

    response = page.goto(origin(server.base_url) + "/console/usage?start=2020-02-01&end=2020-01-01")
    assert response is not None and response.status == 400
    expect(page.locator("#usage-error")).to_have_text(
        "Invalid 'start': 2020-02-01 is after 'end' (2020-01-01)."
    )


def test_the_admin_sees_every_tenant_and_a_tenant_only_its_own(page: Page, server: LiveServer) -> None:
    acme = new_tenant_key(server, "acme")
    judge_once(server, API_KEY, "pai-judge")
    judge_once(server, acme, "pai-judge-plus")  # 2 samples × 2 orders

    sign_in(page, server.base_url, ADMIN)
    page.get_by_role("link", name="Usage").click()
    tenants = cells(page, "#usage-tenants")
    assert [(row[0], row[2]) for row in tenants] == [("acme", "4"), (OWN, "2")]
    assert [row[:3] for row in cells(page, "#usage-rows")] == [
        ["acme", today(), "pai-judge-plus"],
        [OWN, today(), "pai-judge"],
    ]
    screenshot(page, "usage-admin")
    page.get_by_label("Tenant").fill("acme")
    page.get_by_label("Tenant").press("Enter")
    page.wait_for_url("**tenant=acme**")
    assert [(row[0], row[2]) for row in cells(page, "#usage-rows")] == [("acme", "pai-judge-plus")]
    response = page.goto(origin(server.base_url) + "/console/usage?tenant=nobody")
    assert response is not None and response.status == 404
    expect(page.locator("#usage-error")).to_have_text("No such tenant: nobody")
    page.goto(origin(server.base_url) + "/console/usage?tenant=%3Cb%3Ebold%3C%2Fb%3E")  # text, not markup
    expect(page.locator("#usage-error")).to_have_text("No such tenant: <b>bold</b>")
    expect(page.get_by_label("Tenant")).to_have_value("<b>bold</b>")

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, server.base_url, acme)
    page.goto(origin(server.base_url) + f"/console/usage?tenant={OWN}")  # not a tenant's parameter
    expect(page.get_by_label("Tenant")).to_have_count(0)
    assert [row[:2] for row in cells(page, "#usage-rows")] == [[today(), "pai-judge-plus"]]
    assert cells(page, "#usage-totals")[0][1] == "4"
    expect(page.locator("main")).not_to_contain_text(OWN)
    screenshot(page, "usage-tenant")


def test_the_api_reference_renders_the_openapi_document_and_the_seed_examples(
    page: Page, server: LiveServer
) -> None:
    sign_in(page, server.base_url, API_KEY)
    page.get_by_role("link", name="API reference").click()
    expect(page.get_by_role("heading", name="API reference")).to_be_visible()
    for op_id, title in (
        ("createChatCompletion", "POST /v1/chat/completions"),
        ("createLabels", "POST /v1/batches/{batch_id}/labels"),
        ("createCalibration", "POST /v1/calibrations"),
        ("adminUsage", "GET /v1/admin/usage admin key"),
    ):
        expect(page.locator(f"#op-{op_id}-title")).to_have_text(title)
    judgment = page.locator("#schema-JuristJudgment")
    for field in ("mode", "overall_score", "winner", "criteria", "confidence", "expected_score", "swap"):
        expect(judgment.locator("code.prop", has_text=re.compile(f"^{field}$")).first).to_be_attached()
    expect(judgment).to_contain_text("score_range [integer, integer]")
    # collapsed by default, opened by keyboard
    chat = page.locator("#op-createChatCompletion")
    answer = chat.locator("details.answer").first
    field = answer.locator("code.prop", has_text=re.compile("^judgment$")).first
    expect(field).not_to_be_visible()
    answer.locator("summary").first.focus()
    page.keyboard.press("Enter")
    expect(field).to_be_visible()
    screenshot(page, "api")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "api-top.png"))  # viewports: the full page is very long
    page.locator("#op-createChatCompletion-title").evaluate("e => e.scrollIntoView()")
    page.screenshot(path=str(ARTIFACTS / "api-chat.png"))

    # the seed's pairwise curl, shown next to the operation with this server's URL, runs as shown
    example = chat.locator("#example-pairwise-curl")
    example.locator("summary").click()
    command = example.locator("pre").inner_text()
    assert command.startswith(f"curl -X POST {server.base_url}/chat/completions")
    run = subprocess.run(
        ["bash", "-c", command], env={**os.environ, "JUDGE_MODEL_TOKEN": API_KEY},
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert json.loads(run.stdout)["judgment"]["mode"] == "pairwise"
    expect(page.locator("#examples")).to_contain_text("LLM-as-a-Judge: API call examples")
    expect(page.locator("#examples details")).to_have_count(13)
