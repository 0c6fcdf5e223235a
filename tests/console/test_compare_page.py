"""The console's comparison of two runs of an eval, as a person uses it (headless Chromium against a live
server; runs made with the official SDK over jsonl rows graded by string_check and text_similarity, so
every verdict is known): chosen on the eval's page, the page decides a clearly better candidate better and
shows what ``GET /v1/evals/{id}/runs/compare`` answers (rates, deltas, tests, Holm p, decisions, counts),
its changed rows filtered and paged, each linked to its row on both runs' pages; an inconclusive result
says how many rows would decide it; bad settings and runs not graded alike are the page with the message
(400), the latter with a link to compare anyway; another tenant gets the 404 page; caller text is text."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai import OpenAI
from playwright.sync_api import Page, expect

from jurist.backends.base import Generation, GenerationRequest
from jurist.backends.fake import FakeBackend
from tests.console.test_evals_pages import cells, finished_run, nosniff, shown_rows, watch
from tests.support.console import origin, screenshot, sign_in
from tests.support.live import LiveServer
from tests.support.services import API_KEY
from tests.support.verdicts import single_verdict_json

XSS = "<script>alert(1)</script>"
MARKUP = "<img src=x onerror=alert(2)>"
CRITERIA: list[Any] = [
    {"type": "string_check", "name": "exact", "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}",
     "operation": "eq"},
    {"type": "text_similarity", "name": "close", "input": "{{ sample.output_text }}",
     "reference": "{{ item.answer }}", "evaluation_metric": "fuzzy_match", "pass_threshold": 0.8},
]  # fmt: skip
ROWS = 40


def rows(right: set[int], n: int = ROWS) -> list[Any]:
    """Row i answers right when i is in ``right``; row 1's question (and a wrong answer) hold markup."""
    out = []
    for i in range(n):
        answer = f"answer number {i}"
        said = answer if i in right else (MARKUP if i == 1 else f"zzz {i}")
        question = XSS if i == 1 else f"question {i}"
        out.append({"item": {"question": question, "answer": answer}, "sample": {"output_text": said}})
    return out


BASE = {i for i in range(ROWS) if i % 4 == 0}  # 10 right
BETTER = set(range(ROWS)) - {0, 5}  # 38 right: row 0 regressed, row 5 stays wrong, 29 improved
CLOSE = BASE - {0} | {1, 2}  # 2 improved, 1 regressed: too few to tell


class PrefersGood(FakeBackend):
    """The judge model's stand-in (the upstream): 4 to an answer saying GOOD, 2 to one saying BAD."""

    async def generate(self, request: GenerationRequest) -> Generation:
        text = "\n".join(str(m.get("content")) for m in request.messages)
        return Generation(single_verdict_json(4 if "GOOD" in text else 2), "stop", 10, 10)


@pytest.fixture
def judge() -> Any:  # every configured model of this module's server
    return PrefersGood()


def an_eval(client: OpenAI, name: str = "qa", criteria: list[Any] = CRITERIA) -> Any:
    return client.evals.create(
        name=name,
        data_source_config={
            "type": "custom",
            "item_schema": {"type": "object"},
            "include_sample_schema": True,
        },
        testing_criteria=criteria,
    )


def api(client: OpenAI, eval_id: str, base: str, candidate: str) -> dict[str, Any]:
    answer = client.get(f"/evals/{eval_id}/runs/compare?base={base}&candidate={candidate}", cast_to=object)
    found: dict[str, Any] = orjson.loads(orjson.dumps(answer))
    return found


def decisions(page: Page, table: str) -> list[str]:
    found = page.locator(f"{table} [data-field='decision']")
    return found.all_inner_texts()


def fits(page: Page) -> None:
    """Nothing is wider than the page: a wide table scrolls inside its own box."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, overflow


def test_a_clearly_better_candidate_is_decided_better(page: Page, server: LiveServer) -> None:
    problems = watch(page)
    client = server.sdk()
    made = an_eval(client)
    base = finished_run(client, made.id, rows(BASE), name="baseline")
    better = finished_run(client, made.id, rows(BETTER), name="candidate")
    answer = api(client, made.id, base.id, better.id)
    assert answer["overall"]["decision"] == "better"  # the premise
    sign_in(page, server.base_url, API_KEY)
    site = origin(server.base_url)

    # chosen on the eval's page: the two latest runs, the newest the candidate
    page.set_viewport_size({"width": 1280, "height": 900})
    nosniff(page.goto(site + f"/console/evals/{made.id}"))
    expect(page.locator("#compare-base")).to_have_value(base.id)
    expect(page.locator("#compare-candidate")).to_have_value(better.id)
    screenshot(page, "compare-eval-page")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_load_state()
    assert f"base={base.id}" in page.url and f"candidate={better.id}" in page.url
    expect(page.locator("#c-base")).to_have_value(base.id)
    expect(page.locator("[data-role='base'] [data-field='name']")).to_have_text("baseline")
    expect(page.locator("[data-role='candidate'] [data-field='name']")).to_have_text("candidate")

    counts = {
        k: page.locator(f"#count-{k}").inner_text() for k in ("paired", "improved", "regressed", "same")
    }
    assert counts == {"paired": "40", "improved": "29", "regressed": "1", "same": "10"}
    expect(page.locator("#count-only-in-base")).to_have_text("0")
    expect(page.locator("#count-only-in-candidate")).to_have_text("0")
    summary = page.locator("#decisions > tbody > tr")
    assert summary.nth(0).locator("td").first.inner_text() == "Overall (rows' pass/fail)"
    assert decisions(page, "#decisions")[0] == "better"
    expected = [answer["overall"]["decision"]]
    for c in answer["criteria"]:
        expected += [c["pass"]["decision"], c["score"]["decision"]]
    assert decisions(page, "#decisions") == expected
    assert expected[1] == "better"  # exact's pass rate

    overall = cells(page, "#stats-overall")
    assert overall[0][:4] == ["pass rate", "40", "25.0%", "95.0%"]
    o = answer["overall"]
    assert overall[0][4].splitlines() == [
        f"{100 * o['delta']:+.1f} pts",
        f"[{100 * o['ci_low']:+.1f}, {100 * o['ci_high']:+.1f}]",
    ]
    assert overall[0][5:9] == ["29", "1", "10", "McNemar (exact)"]
    assert overall[0][10] == ("< 0.0001" if o["p_adjusted"] < 1e-4 else f"{o['p_adjusted']:.4f}")
    exact = page.locator("table.stats[data-name='exact']")
    expect(exact.locator("tr[data-kind='score'] [data-field='test']")).to_have_text("Wilcoxon signed-rank")
    expect(exact.locator("tr[data-kind='pass'] [data-field='base']")).to_have_text("25.0%")
    expect(exact.locator("tr[data-kind='pass'] [data-field='candidate']")).to_have_text("95.0%")
    for k, c in enumerate(answer["criteria"]):
        table = page.locator(f"table.stats[data-criterion='{k}']")
        p = c["pass"]["p_adjusted"]
        expect(table.locator("tr[data-kind='pass'] [data-field='holm-p']")).to_have_text(
            "< 0.0001" if p < 1e-4 else f"{p:.4f}"
        )
    expect(page.locator("[data-field='items-needed']")).to_have_count(
        sum(
            s["decision"] == "inconclusive"
            for s in [o] + [c[k] for c in answer["criteria"] for k in ("pass", "score")]
        )
    )
    fits(page)
    screenshot(page, "compare-better")
    page.set_viewport_size({"width": 720, "height": 900})  # narrow: the tables scroll in their boxes
    fits(page)
    screenshot(page, "compare-narrow")
    page.set_viewport_size({"width": 1280, "height": 900})

    # the changed rows: the regression first, then the improvements in row order, 25 a page
    improved = [i for i in range(ROWS) if i in BETTER and i not in BASE]
    listed = page.locator("#diffs > tbody > tr")
    expect(page.locator("#diffs-count")).to_have_text("30")
    assert [int(listed.nth(i).get_attribute("data-base-row") or "-1") for i in range(listed.count())] == [
        0,
        *improved[:24],
    ]
    first = page.locator("#diffs tr[data-base-row='0']")
    expect(first.locator("[data-field='change']")).to_have_text("regressed")
    expect(first.locator("[data-field='status']")).to_have_text("pass → fail")
    assert first.locator("td[data-criterion='0']").get_attribute("data-verdicts") == "pass:fail"
    marked = page.locator("#diffs tr[data-base-row='1']")
    expect(marked.locator("[data-field='item']")).to_contain_text(XSS)  # as text
    expect(marked.locator("[data-field='base-output']")).to_have_text(MARKUP)
    expect(marked.locator("[data-field='candidate-output']")).to_have_text("answer number 1")
    page.locator("#diffs-next").click()
    assert [
        int(listed.nth(i).get_attribute("data-base-row") or "-1") for i in range(listed.count())
    ] == improved[24:]
    expect(page.locator("#diffs-showing")).to_have_text("26–30")
    page.locator("#diff-filter a[data-show='regressed']").click()
    assert [listed.nth(i).get_attribute("data-change") for i in range(listed.count())] == ["regressed"]
    expect(page.locator("#diffs-count")).to_have_text("1")
    page.locator("#diff-filter a[data-show='improved']").click()
    expect(page.locator("#diffs-count")).to_have_text("29")
    assert {listed.nth(i).get_attribute("data-change") for i in range(listed.count())} == {"improved"}
    screenshot(page, "compare-improved")

    # each changed row links to its row on both runs' pages (a page starting at that row)
    target = improved[7]
    row = page.locator(f"#diffs tr[data-base-row='{target}']")
    row.locator("[data-field='base-link']").click()
    expect(page.locator("#run-id")).to_have_text(base.id)
    assert shown_rows(page)[0] == target
    expect(page.locator("#showing")).to_have_text(f"{target + 1}–{ROWS}")
    expect(page.locator(f"#items tr[data-row='{target}'] [data-field='status']")).to_have_text("fail")
    page.go_back()
    page.locator(f"#diffs tr[data-base-row='{target}'] [data-field='candidate-link']").click()
    expect(page.locator("#run-id")).to_have_text(better.id)
    assert shown_rows(page)[0] == target
    expect(page.locator(f"#items tr[data-row='{target}'] [data-field='status']")).to_have_text("pass")
    page.go_back()
    page.locator("#diff-filter a[data-show='regressed']").click()
    page.locator("#diffs tr[data-base-row='0'] [data-field='candidate-link']").click()
    expect(page.locator("#run-id")).to_have_text(better.id)
    assert shown_rows(page)[0] == 0
    assert problems == []


def test_inconclusive_bad_settings_and_runs_not_graded_alike(page: Page, server: LiveServer) -> None:
    problems = watch(page)
    client = server.sdk()
    made = an_eval(client)
    base = finished_run(client, made.id, rows(BASE), name="baseline")
    close = finished_run(client, made.id, rows(CLOSE), name="close")
    fewer = finished_run(client, made.id, rows(BASE, 30), name="fewer rows")
    answer = api(client, made.id, base.id, close.id)
    assert answer["overall"]["decision"] == "inconclusive"  # the premise
    sign_in(page, server.base_url, API_KEY)
    url = origin(server.base_url) + f"/console/evals/{made.id}/compare"

    nosniff(page.goto(url))  # no runs chosen: the form, the two latest chosen
    expect(page.locator("#c-base")).to_have_value(close.id)
    expect(page.locator("#c-candidate")).to_have_value(fewer.id)
    expect(page.locator("#choose-runs")).to_be_visible()
    page.locator("#c-base").select_option(base.id)
    page.locator("#c-candidate").select_option(close.id)
    page.get_by_role("button", name="Compare").click()
    page.wait_for_load_state()
    needed = answer["overall"]["items_needed"]
    assert isinstance(needed, int) and needed > ROWS
    overall = page.locator("#stats-overall [data-field='decision-cell']")
    expect(overall.locator("[data-field='decision']")).to_have_text("inconclusive")
    expect(overall.locator("[data-field='items-needed']")).to_have_text(
        f"≈{needed} items would decide it ({needed - ROWS} more)"
    )
    expect(page.locator("#decisions [data-field='items-needed']").first).to_contain_text(f"≈{needed} items")
    assert cells(page, "#stats-overall")[0][5:8] == ["2", "1", "37"]
    screenshot(page, "compare-inconclusive")

    # settings the comparison refuses: the page says why (400), the form kept as given
    for query, message in [
        ("margin=1.5", "margin must be in (0, 1), got 1.5."),
        ("margin=abc", "margin must be a number, got 'abc'."),
        ("alpha=0.7", "alpha must be in (0, 0.5], got 0.7."),
        ("criterion=nope", "criterion 'nope' is not a testing criterion"),
        ("show=sideways", "show must be one of all, regressed, improved"),
    ]:
        nosniff(page.goto(f"{url}?base={base.id}&candidate={close.id}&{query}"), 400)
        expect(page.locator("#error-message")).to_contain_text(message)
        expect(page.locator("#compare-anyway")).to_have_count(0)
        expect(page.locator("#c-base")).to_have_value(base.id)
    expect(page.locator("#decisions")).to_have_count(0)
    nosniff(page.goto(f"{url}?base={base.id}&candidate={close.id}&margin=1.5"), 400)
    expect(page.locator("#c-margin")).to_have_value("1.5")
    page.locator("#c-margin").fill("0.05")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("#decisions")).to_be_visible()
    assert "margin=0.05" in page.url
    expect(page.locator("#decisions-heading + p")).to_have_text("Margin 0.05 · alpha 0.05")
    screenshot(page, "compare-bad-margin")

    # runs over other items: refused, then compared anyway (the rows in one run only counted apart)
    nosniff(page.goto(f"{url}?base={base.id}&candidate={fewer.id}"), 400)
    expect(page.locator("#error-message")).to_contain_text("The runs were not graded alike: the items")
    screenshot(page, "compare-mismatch")
    page.locator("#compare-anyway").click()
    page.wait_for_load_state()
    assert "allow_mismatch=true" in page.url
    expect(page.locator("#c-allow-mismatch")).to_be_checked()
    expect(page.locator("#mismatches")).to_contain_text("the items (the dataset)")
    expect(page.locator("#count-paired")).to_have_text("30")
    expect(page.locator("#count-only-in-base")).to_have_text("10")
    expect(page.locator("#count-only-in-candidate")).to_have_text("0")
    expect(page.locator("#no-diffs")).to_be_visible()  # same answers on the rows both hold
    fits(page)
    assert problems == []


def test_another_tenant_gets_404_and_caller_text_is_text(page: Page, server: LiveServer) -> None:
    problems = watch(page)
    client = server.sdk()
    made = an_eval(client, XSS)
    base = finished_run(client, made.id, rows(BASE, 8), name=XSS)
    candidate = finished_run(client, made.id, rows(set(range(8)), 8), name=MARKUP)
    elsewhere = an_eval(client, "another")
    other_run = finished_run(client, elsewhere.id, rows(BASE, 8))
    site = origin(server.base_url)
    sign_in(page, server.base_url, API_KEY)
    compared = f"/console/evals/{made.id}/compare?base={base.id}&candidate={candidate.id}"
    nosniff(page.goto(site + compared))
    expect(page.locator("#back-to-eval")).to_contain_text(XSS)
    expect(page.locator("[data-role='base'] [data-field='name']")).to_have_text(XSS)
    expect(page.locator("[data-role='candidate'] [data-field='name']")).to_have_text(MARKUP)
    expect(page.locator("#diffs tr[data-base-row='1'] [data-field='item']")).to_contain_text(XSS)
    assert page.title().startswith(f"Compare runs · {XSS}")
    assert page.locator("main script, main img").count() == 0
    screenshot(page, "compare-xss")
    for url, named in [
        (f"/console/evals/{made.id}/compare?base={base.id}&candidate={other_run.id}", other_run.id),
        (f"/console/evals/{elsewhere.id}/compare?base={base.id}&candidate={other_run.id}", base.id),
        (
            f"/console/evals/{made.id}/compare?base=evalrun_missing&candidate={candidate.id}",
            "evalrun_missing",
        ),
        ("/console/evals/eval_0000000000000000/compare", "eval_0000000000000000"),
    ]:
        nosniff(page.goto(site + url), 404)
        expect(page.locator("#error-message")).to_contain_text(named)

    page.context.clear_cookies()
    sign_in(page, server.base_url, API_KEY, on_behalf_of="someone-else")  # another tenant
    for url in (compared, f"/console/evals/{made.id}/compare", compared + "&margin=7"):
        nosniff(page.goto(site + url), 404)
        expect(page.locator("#error-status")).to_have_text("Not found")
        expect(page.locator("#error-message")).to_contain_text(made.id)
    assert problems == []


def test_figures_anchored_on_human_labels_are_shown(page: Page, server: LiveServer) -> None:
    problems = watch(page)
    client = server.sdk()
    judged = {"type": "jurist_judge", "name": "judge", "model": "pai-judge", "mode": "single",
              "question": "{{item.question}}", "answer": "{{sample.output_text}}"}  # fmt: skip
    made = an_eval(client, criteria=[judged])
    runs = []
    for good in (lambda i: i % 3 == 0, lambda i: i % 3 != 2):
        content = [
            {
                "item": {"question": f"Question {i}?"},
                "sample": {"output_text": f"{'GOOD' if good(i) else 'BAD'} {i}"},
            }
            for i in range(30)
        ]
        run = finished_run(client, made.id, content)
        batch_id = orjson.loads(orjson.dumps(client.get(f"/evals/{made.id}/runs/{run.id}", cast_to=object)))[
            "jurist"
        ]["batch_id"]
        labels = [{"custom_id": f"row-{i}", "label": 5 if good(i) else 1} for i in range(12)]
        client.post(f"/batches/{batch_id}/labels", body=labels, cast_to=object)
        runs.append(run.id)
    anchored = api(client, made.id, runs[0], runs[1])["anchored"]
    sign_in(page, server.base_url, API_KEY)
    nosniff(
        page.goto(
            origin(server.base_url) + f"/console/evals/{made.id}/compare?base={runs[0]}&candidate={runs[1]}"
        )
    )
    expect(page.locator("#anchored-heading")).to_have_text("Anchored on human labels: judge")
    table = page.locator("#anchored-figures")
    assert [table.locator(f"tr[data-row='{k}'] [data-field='labels']").inner_text() for k in range(3)] == [
        "12"
    ] * 3
    judge_only, ppi = anchored["base"]["pass_rate"]["judge_only"], anchored["base"]["pass_rate"]["ppi"]
    expect(table.locator("tr[data-row='0'] td[data-figure='0']")).to_contain_text(
        f"{100 * judge_only['estimate']:.1f}%"
    )
    expect(table.locator("tr[data-row='0'] td[data-figure='1']")).to_contain_text(
        f"{100 * ppi['estimate']:.1f}%"
    )
    expect(table.locator("tr[data-row='0'] td[data-figure='1']")).to_contain_text("12 labelled")
    delta = anchored["delta"]["mean_score"]["ppi"]["estimate"]
    expect(table.locator("tr[data-row='2'] td[data-figure='3']")).to_contain_text(f"{delta:+.3f}")
    expect(page.locator("#extras")).to_have_count(0)  # nothing this page does not know
    fits(page)
    screenshot(page, "compare-anchored")
    assert problems == []
