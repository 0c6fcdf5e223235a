"""The console's head-to-head pages, as a person uses them (headless Chromium against a live server; runs
made with the official SDK over jsonl rows; the judge model is a scripted stand-in for a remote pairwise
judge that prefers the answer saying GOOD): a head-to-head run started from the comparison page's form,
its run page's "Head to head" panel showing what ``GET /v1/evals/{id}/runs/{run}/head_to_head`` answers
(before and after humans label its lines), its rows showing the question and both answers; the eval's
leaderboard ranking the runs as ``GET /v1/evals/{id}/leaderboard`` does, with style control on and off,
and a friendly page before any head-to-head run; a form the use case refuses is the page with its
message (400); the form needs the session's CSRF token; another tenant gets 404; caller text is text."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai import OpenAI
from playwright.sync_api import Page, expect

from jurist.api.console.compare_view import p_text
from tests.api.test_head_to_head import PrefersGood, answers, finished
from tests.console.test_compare_page import fits
from tests.console.test_evals_pages import finished_run, nosniff, watch
from tests.support.console import origin, screenshot, sign_in
from tests.support.live import LiveServer
from tests.support.services import API_KEY

XSS = "<script>alert(1)</script>"
MARKUP = "<img src=x onerror=alert(2)>"
SAYS_GOOD = {"type": "string_check", "name": "says_good", "input": "{{sample.output_text}}",
             "reference": "GOOD", "operation": "ilike"}  # fmt: skip


@pytest.fixture
def judge() -> Any:  # every configured model of this module's server
    return PrefersGood()


def an_eval(client: OpenAI, name: str = "qa") -> str:
    return client.evals.create(
        name=name,
        data_source_config={
            "type": "custom",
            "item_schema": {"type": "object"},
            "include_sample_schema": True,
        },
        testing_criteria=[SAYS_GOOD],  # type: ignore[list-item]
    ).id


def get(client: OpenAI, path: str) -> Any:
    return orjson.loads(orjson.dumps(client.get(path, cast_to=object)))


def percent(x: float) -> str:
    return f"{100 * x:.1f}%"


def interval(found: dict[str, Any]) -> str:
    return f"[{percent(found['ci_low'])}, {percent(found['ci_high'])}]"


def start_from_compare_page(
    page: Page, site: str, eval_id: str, pair: tuple[str, str], name: str, model: str = ""
) -> str:
    """Start a head-to-head run of ``pair`` (base, candidate) with the comparison page's form; the new
    run's id (its page is shown)."""
    nosniff(page.goto(f"{site}/console/evals/{eval_id}/compare?base={pair[0]}&candidate={pair[1]}"))
    if model:
        page.locator("#h2h-model").select_option(model)
    page.locator("#h2h-name").fill(name)
    page.get_by_role("button", name="Start head to head").click()
    page.wait_for_url("**/runs/evalrun_*")
    return page.url.rsplit("/", 1)[1]


def test_a_head_to_head_started_from_the_comparison_page(page: Page, server: LiveServer) -> None:
    problems = watch(page)
    client = server.sdk()
    eval_id = an_eval(client)
    base = finished_run(client, eval_id, answers(30, lambda i: i % 5 == 0), name="baseline")
    candidate = finished_run(client, eval_id, answers(30, lambda i: i % 5 != 4), name="contender")
    sign_in(page, server.base_url, API_KEY)
    site = origin(server.base_url)
    page.set_viewport_size({"width": 1280, "height": 900})

    # the form on the comparison page: the configured judges, the jsonl rows' question template
    nosniff(page.goto(f"{site}/console/evals/{eval_id}/compare?base={base.id}&candidate={candidate.id}"))
    expect(page.locator("#h2h-question")).to_have_value("{{item.question}}")
    options = page.locator("#h2h-model option").all_inner_texts()
    assert options == sorted(server.services.evals.models) and "pai-judge-plus" in options
    screenshot(page, "h2h-compare-form")
    pair = (base.id, candidate.id)
    run_id = start_from_compare_page(page, site, eval_id, pair, "contender vs baseline", "pai-judge-plus")
    assert finished(client, eval_id, run_id).status == "completed"
    nosniff(page.reload())
    figures = get(client, f"/evals/{eval_id}/runs/{run_id}/head_to_head")
    assert (figures["candidate_wins"], figures["ties"], figures["base_wins"]) == (18, 12, 0)  # the premise
    assert figures["model"] == "pai-judge-plus"  # the judge chosen

    # the panel: what the API answers
    expect(page.locator("#run-name")).to_have_text("contender vs baseline")
    expect(page.locator("#h2h-candidate")).to_have_text("contender")
    expect(page.locator("#h2h-base")).to_have_text("baseline")
    assert page.locator("#h2h-base").get_attribute("href") == f"/console/evals/{eval_id}/runs/{base.id}"
    expect(page.locator("#h2h-model")).to_have_text(figures["model"])
    for key in ("candidate_wins", "ties", "base_wins"):
        expect(page.locator(f"#h2h-{key.replace('_', '-')}")).to_have_text(str(figures[key]))
    for key, field in (
        ("win_rate", "win-rate"),
        ("tie_rate", "tie-rate"),
        ("position_consistency", "consistency"),
    ):
        expect(page.locator(f"#h2h-{field}")).to_have_text(percent(figures[key]["estimate"]))
        expect(page.locator(f"#h2h-{field}-ci")).to_have_text(interval(figures[key]))
    expect(page.locator("#h2h-consistency-n")).to_have_text(str(figures["position_consistency"]["n"]))
    expect(page.locator("#h2h-p")).to_have_text(p_text(figures["p_value"]))
    expect(page.locator("#h2h-decision")).to_have_text(figures["decision"])
    assert figures["decision"] == "better"
    expect(page.locator("#h2h-items-needed")).to_have_count(0)
    items = figures["items"]
    for key in ("paired", "errored", "only_in_base", "only_in_candidate"):
        expect(page.locator(f"#h2h-{key.replace('_', '-')}")).to_have_text(str(items[key]))
    expect(page.locator("#h2h-judged")).to_have_text(str(items["judged"]))

    # the rows: the question, the candidate's answer and the base's, and who won
    for row, (said, base_said, winner) in {0: ("GOOD 0", "GOOD 0", "tie"), 1: ("GOOD 1", "BAD 1", "candidate wins"),
                                           4: ("BAD 4", "BAD 4", "tie")}.items():  # fmt: skip
        shown = page.locator(f"#items tr[data-row='{row}']")
        expect(shown.locator("[data-field='question']")).to_have_text(f"Question {row}?")
        expect(shown.locator("[data-field='output']")).to_have_text(said)
        expect(shown.locator("[data-field='base-output']")).to_have_text(base_said)
        expect(shown.locator("[data-field='winner']")).to_have_text(winner)
    assert page.locator("#items thead th").all_inner_texts()[2:5] == [
        "Question",
        "Candidate's answer",
        "Base's answer",
    ]
    assert page.locator("#criterion-results tbody td.text").all_inner_texts() == ["head_to_head"]
    fits(page)
    screenshot(page, "h2h-run-page")

    # no labels: the hint links to the batch's review, where they are given
    batch_id = get(client, f"/evals/{eval_id}/runs/{run_id}")["jurist"]["batch_id"]
    expect(page.locator("#h2h-label-hint")).to_be_visible()
    expect(page.locator("#h2h-anchored-figures")).to_have_count(0)
    page.locator("#h2h-review").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/console/batches/{batch_id}/review")
    expect(page.locator("#position")).to_have_text("1 of 30")
    labels = [{"custom_id": f"row-{i}", "label": "1"} for i in range(10)]  # the humans prefer the candidate
    client.post(f"/batches/{batch_id}/labels", body=labels, cast_to=object)
    figures = get(client, f"/evals/{eval_id}/runs/{run_id}/head_to_head")
    anchored = figures["anchored"]
    assert anchored["labels"] == 10 and anchored["win_rate"] is not None
    nosniff(page.goto(f"{site}/console/evals/{eval_id}/runs/{run_id}"))
    expect(page.locator("#h2h-label-hint")).to_have_count(0)
    expect(page.locator("#h2h-labels")).to_have_text("10")
    for kind, key in (("judge", "judge_only"), ("ppi", "ppi")):
        figure = anchored["win_rate"][key]
        shown = page.locator(f"#h2h-anchored-figures tr[data-figure='{kind}']")
        expect(shown.locator("[data-field='estimate']")).to_have_text(percent(figure["estimate"]))
        expect(shown.locator("[data-field='ci']")).to_have_text(interval(figure))
        expect(shown.locator("[data-field='labelled']")).to_have_text(str(figure["n_labeled"]))
        expect(shown.locator("[data-field='effective']")).to_have_text(f"{figure['effective_labels']:.1f}")
    fits(page)
    screenshot(page, "h2h-anchored")
    page.set_viewport_size({"width": 720, "height": 900})  # narrow: the tables stay inside the page
    fits(page)
    screenshot(page, "h2h-run-page-narrow")
    assert problems == []


def test_the_leaderboard_ranks_the_runs_as_the_api_does(page: Page, server: LiveServer) -> None:
    problems = watch(page)
    client = server.sdk()
    eval_id = an_eval(client)
    runs = {
        name: finished_run(client, eval_id, answers(24, good), name=name).id
        for name, good in (
            ("weak", lambda i: i % 4 == 0),
            ("middle", lambda i: i % 2 == 0),
            ("strong", lambda i: i % 4 != 3),
        )
    }
    sign_in(page, server.base_url, API_KEY)
    site = origin(server.base_url)
    page.set_viewport_size({"width": 1280, "height": 900})

    # before any head-to-head run: a page saying how to start one, not an error
    nosniff(page.goto(f"{site}/console/evals/{eval_id}"))
    page.locator("#leaderboard-link").click()
    page.wait_for_load_state()
    expect(page.locator("#no-board")).to_contain_text("no judged head-to-head run yet")
    expect(page.locator("#ratings")).to_have_count(0)
    screenshot(page, "leaderboard-empty")
    page.locator("#start-comparing").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/console/evals/{eval_id}/compare")

    pairs = []
    for base, candidate in (("weak", "middle"), ("middle", "strong"), ("weak", "strong")):
        made = start_from_compare_page(
            page, site, eval_id, (runs[base], runs[candidate]), f"{candidate} vs {base}"
        )
        assert finished(client, eval_id, made).status == "completed"
        pairs.append(made)
    nosniff(page.goto(f"{site}/console/evals/{eval_id}"))  # a head-to-head run's own criterion
    graded = page.locator(f"#run-list tr[data-run='{pairs[0]}'] table.mini td.text")
    assert graded.all_inner_texts() == ["head_to_head"]
    board = get(client, f"/evals/{eval_id}/leaderboard")
    assert [r["name"] for r in board["data"]] == ["strong", "middle", "weak"]  # the premise
    nosniff(page.goto(f"{site}/console/evals/{eval_id}/leaderboard"))
    for found, style in (
        (board, True),
        (get(client, f"/evals/{eval_id}/leaderboard?style_control=false"), False),
    ):
        expect(page.locator("#style-state")).to_have_text("on" if style else "off")
        listed = page.locator("#ratings > tbody > tr")
        assert [listed.nth(i).get_attribute("data-run") for i in range(listed.count())] == [
            r["run_id"] for r in found["data"]
        ]
        for k, r in enumerate(found["data"]):
            row = page.locator(f"#ratings tr[data-run='{r['run_id']}']")
            expect(row.locator("[data-field='rank']")).to_have_text(str(k + 1))
            expect(row.locator("[data-field='name']")).to_have_text(r["name"])
            expect(row.locator("[data-field='rating']")).to_have_text(f"{r['rating']:.1f}")
            expect(row.locator("[data-field='ci']")).to_have_text(f"[{r['ci_low']:.1f}, {r['ci_high']:.1f}]")
            expect(row.locator("[data-field='battles']")).to_have_text(str(r["battles"]))
            expect(row.locator("[data-field='win-rate']")).to_have_text(percent(r["win_rate"]))
        coefficients = page.locator("#style-coefficients > tbody > tr")
        assert [coefficients.nth(i).get_attribute("data-feature") for i in range(coefficients.count())] == [
            s["feature"] for s in found["style"]
        ]
        expect(page.locator("#board-summary")).to_contain_text(f"{found['battles']} battles")
        fits(page)
        screenshot(page, f"leaderboard-style-{'on' if style else 'off'}")
        if style:
            assert [s["feature"] for s in found["style"]] == ["length", "headers", "bold", "lists"]
            page.locator("#style-toggle a[data-style='false']").click()
            page.wait_for_load_state()
            assert page.url.endswith("style_control=false")
    expect(page.locator("#no-style")).to_be_visible()
    used = page.locator("#pair-runs > tbody > tr")
    assert sorted(used.nth(i).get_attribute("data-run") or "" for i in range(used.count())) == sorted(pairs)
    expect(page.locator(f"#pair-runs tr[data-run='{pairs[0]}'] [data-field='candidate']")).to_have_text(
        "middle"
    )
    expect(page.locator(f"#pair-runs tr[data-run='{pairs[0]}'] [data-field='base']")).to_have_text("weak")
    nosniff(page.goto(f"{site}/console/evals/{eval_id}/leaderboard?style_control=maybe"), 400)
    expect(page.locator("#error-message")).to_contain_text("style_control must be true or false")
    assert problems == []


def test_a_refused_form_another_tenant_and_caller_text(page: Page, server: LiveServer) -> None:
    problems = watch(page)
    client = server.sdk()
    eval_id = an_eval(client, XSS)
    made = []
    for good, name in ((lambda i: i % 2 == 0, XSS), (lambda i: True, MARKUP)):
        rows = answers(6, good)
        rows[1]["item"]["question"] = XSS  # in both runs: the rows are paired by their item
        made.append(finished_run(client, eval_id, rows, name=name))
    base, candidate = made
    sign_in(page, server.base_url, API_KEY)
    site = origin(server.base_url)
    compared = f"{site}/console/evals/{eval_id}/compare?base={base.id}&candidate={candidate.id}"

    # no question for jsonl runs: the comparison page again, with the use case's message (400)
    nosniff(page.goto(compared))
    page.locator("#h2h-question").fill("")
    page.locator("#h2h-name").fill(XSS)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Start head to head").click()
    assert posted.value.status == 400
    expect(page.locator("#start-error")).to_contain_text("question is required")
    expect(page.locator("#h2h-name")).to_have_value(XSS)  # the form as given
    expect(page.locator("#h2h-question")).to_have_value("")
    expect(page.locator("#decisions")).to_be_visible()  # the comparison it was on
    screenshot(page, "h2h-refused")
    page.locator("#h2h-question").fill("{{oops.x}}")
    page.get_by_role("button", name="Start head to head").click()
    expect(page.locator("#start-error")).to_contain_text("question")

    # a question: the run starts; caller text (names, a question) is text on its page
    page.locator("#h2h-question").fill("{{item.question}}")
    page.get_by_role("button", name="Start head to head").click()
    page.wait_for_url("**/runs/evalrun_*")
    run_id = page.url.rsplit("/", 1)[1]
    assert finished(client, eval_id, run_id).status == "completed"
    nosniff(page.reload())
    figures = get(client, f"/evals/{eval_id}/runs/{run_id}/head_to_head")
    assert figures["decision"] == "inconclusive" and figures["items_needed"] > 6  # the premise
    expect(page.locator("#h2h-decision")).to_have_text("inconclusive")
    expect(page.locator("#h2h-items-needed")).to_have_text(
        f"≈{figures['items_needed']} items would decide it"
    )
    expect(page.locator("#run-name")).to_have_text(XSS)
    expect(page.locator("#h2h-base")).to_have_text(XSS)
    expect(page.locator("#h2h-candidate")).to_have_text(MARKUP)
    expect(page.locator("#items tr[data-row='1'] [data-field='question']")).to_have_text(XSS)
    nosniff(page.goto(f"{site}/console/evals/{eval_id}/leaderboard"))
    expect(page.locator(f"#ratings tr[data-run='{candidate.id}'] [data-field='name']")).to_have_text(MARKUP)
    expect(page.locator(f"#pair-runs tr[data-run='{run_id}'] [data-field='base']")).to_have_text(XSS)
    assert page.title().startswith(f"Leaderboard · {XSS}")
    assert page.locator("main script, main img").count() == 0
    screenshot(page, "h2h-xss")

    # the form's POST needs the session's CSRF token
    form = {"base": base.id, "candidate": candidate.id, "model": "pai-judge", "question": "{{item.question}}"}
    action = f"{site}/console/evals/{eval_id}/head_to_head"
    assert page.request.post(action, form=form).status == 403
    # another tenant: the 404 page for the leaderboard, the run page and the form
    page.context.clear_cookies()
    sign_in(page, server.base_url, API_KEY, on_behalf_of="someone-else")
    for url in (f"/console/evals/{eval_id}/leaderboard", f"/console/evals/{eval_id}/runs/{run_id}"):
        nosniff(page.goto(site + url), 404)
        expect(page.locator("#error-message")).to_contain_text(eval_id)
    token = page.locator("meta[name='csrf-token']").get_attribute("content") or ""
    refused = page.request.post(action, form={**form, "csrf": token})
    assert refused.status == 404 and eval_id in refused.text()
    assert len(get(client, f"/evals/{eval_id}/runs")["data"]) == 3  # nothing started by the stranger
    assert problems == []
