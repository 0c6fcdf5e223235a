"""The review page, as a person uses it (headless Chromium against a live server): a verdict with both
swap games, server-side filters, labels given with the keyboard moving the agreement figures, caller
text (an XSS payload, Chinese, a long code answer) shown as text, another tenant's batch as the 404."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Dialog, Page, expect

from jurist.backends.base import Generation, GenerationRequest
from tests.console.conftest import ADMIN
from tests.support.console import origin, screenshot, sign_in
from tests.support.live import LiveServer
from tests.support.services import API_KEY
from tests.support.trust import Judge, headers, lines, run
from tests.support.verdicts import single_verdict_json

CODE = "\n".join(f"def step_{i}(x):\n    return x * {i} + {i}  # a long line " + "=" * 80 for i in range(60))
CHINESE = "请解释快速排序算法的时间复杂度，并给出一个例子。"
XSS = "<script>alert(1)</script> and <img src=x onerror=alert(1)>"


class ReviewJudge(Judge):
    """The trust tests' biased pairwise judge, which also grades single items: 4 when the answer says
    "good", else 2."""

    async def generate(self, request: GenerationRequest) -> Generation:
        text = " ".join(str(m.get("content")) for m in request.messages)
        if "SINGLE" not in text:
            return await super().generate(request)
        self.history.append(request)
        return Generation(single_verdict_json(4 if "good" in text else 2), "stop", 10, 10)


@pytest.fixture
def judge() -> Judge:
    return ReviewJudge(biased=True)


def single_lines(answers: list[str]) -> list[tuple[str, str, str]]:
    out = []
    for i, answer in enumerate(answers):
        fields = {"question": f"SINGLE item s{i}: explain recursion.", "answer": answer}
        body = {"model": "pai-judge", "messages": [{"role": "user", "content": [
            {"mode": "single", "type": "json", "json": fields}]}]}  # fmt: skip
        line = {"custom_id": f"s{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}
        out.append((f"s{i}", json.dumps(line), ""))
    return out


def review_url(server: LiveServer, batch_id: str, query: str = "") -> str:
    return f"{origin(server.base_url)}/console/batches/{batch_id}/review" + (f"?{query}" if query else "")


def test_a_verdict_shows_both_swap_games_and_the_judgment(page: Page, server: LiveServer) -> None:
    batch_id = run(server, lines("pai-judge", 2, 2))
    sign_in(page, server.base_url, API_KEY)
    page.goto(review_url(server, batch_id))
    expect(page.locator("#position")).to_have_text("1 of 4")
    expect(page.locator("#custom-id")).to_have_text("e0")
    expect(page.locator("#question")).to_have_text("Explain EASY item e0.")
    expect(page.locator("#answer-1")).to_contain_text("STRONG: a careful")
    expect(page.locator("#answer-2")).to_have_text("weak: a guess.")
    expect(page.locator("#verdict")).to_contain_text("Winner: answer 1")
    expect(page.locator("#verdict")).to_contain_text("(raw)")
    games = page.locator("#swap-games tbody tr")
    expect(games).to_have_count(2)
    expect(games.nth(0)).to_contain_text("as_given")
    expect(games.nth(1)).to_contain_text("swapped")
    expect(page.locator("#criteria tbody tr").first).to_be_visible()
    expect(page.locator("#agreement-n")).to_have_text("0")
    screenshot(page, "review-verdict")
    # a HARD line: the biased judge prefers the first answer in both orders, so the verdict is a tie
    page.goto(review_url(server, batch_id, "i=3"))
    expect(page.locator("#custom-id")).to_have_text("h2")
    expect(page.locator("#swap-inconsistent")).to_be_visible()
    expect(page.locator("#verdict")).to_contain_text("Winner: tie")
    screenshot(page, "review-inconsistent")


def test_filters_narrow_the_set_and_navigation_stays_inside_it(page: Page, server: LiveServer) -> None:
    batch_id = run(server, lines("pai-judge", 3, 2))
    sign_in(page, server.base_url, API_KEY)
    page.goto(review_url(server, batch_id))
    expect(page.locator("#position")).to_have_text("1 of 5")
    page.get_by_label("Swap-inconsistent").check()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#position")).to_have_text("1 of 2")
    expect(page.locator("#custom-id")).to_have_text("h3")
    page.keyboard.press("j")
    expect(page.locator("#position")).to_have_text("2 of 2")
    expect(page.locator("#custom-id")).to_have_text("h4")
    expect(page.locator("#next")).to_have_count(0)
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#custom-id")).to_have_text("h3")
    screenshot(page, "review-filtered")
    # winner and low confidence filters, straight from the query string
    page.goto(review_url(server, batch_id, "winner=tie"))
    expect(page.locator("#position")).to_have_text("1 of 2")
    page.goto(review_url(server, batch_id, "low=1&threshold=0.5"))
    expect(page.locator("#position")).to_have_text("1 of 2")
    page.goto(review_url(server, batch_id, "winner=1"))
    expect(page.locator("#position")).to_have_text("1 of 2")  # e0, e2 (strong first)
    page.goto(review_url(server, batch_id, "abstained=1"))
    expect(page.locator("#no-lines")).to_be_visible()
    expect(page.locator("#position")).to_have_text("0 of 0")


def test_labels_by_keyboard_move_the_agreement_figures(page: Page, server: LiveServer) -> None:
    batch_id = run(server, lines("pai-judge", 2, 2))
    sign_in(page, server.base_url, API_KEY)
    page.goto(review_url(server, batch_id))
    expect(page.locator("#agreement-n")).to_have_text("0")
    page.get_by_label("Annotator").fill("ana")
    page.get_by_label("Note").fill("clear case")
    page.locator("h1").click()  # out of the fields: keys are shortcuts again
    page.keyboard.press("1")  # e0: the judge says answer 1, so does ana
    expect(page.locator("#label-status")).to_have_text("Saved: ana → 1")
    expect(page.locator("#agreement-n")).to_have_text("1")
    expect(page.locator("#agreement-accuracy")).to_have_text("1.000")
    page.keyboard.press("j")
    expect(page.locator("#custom-id")).to_have_text("e1")
    page.keyboard.press("2")  # e1: the judge says answer 2
    expect(page.locator("#agreement-n")).to_have_text("2")
    page.keyboard.press("j")
    expect(page.locator("#custom-id")).to_have_text("h2")
    page.keyboard.press("1")  # h2: the judge says tie (swap-inconsistent), the person answer 1
    expect(page.locator("#agreement-n")).to_have_text("3")
    expect(page.locator("#agreement-accuracy")).to_have_text("0.667")
    screenshot(page, "review-labelled")
    # the labels went through the API's use case: the API lists them
    listed = server.request("GET", f"{server.base_url}/batches/{batch_id}/labels", headers=headers()).json()
    got = {(r["custom_id"], r["annotator"], r["label"]) for r in listed["data"]}
    assert got == {("e0", "ana", "1"), ("e1", "default", "2"), ("h2", "default", "1")}
    assert next(r for r in listed["data"] if r["custom_id"] == "e0")["note"] == "clear case"
    # the disagreement filter now finds h2 (human majority 1, judge tie)
    page.goto(review_url(server, batch_id, "disagrees=1"))
    expect(page.locator("#position")).to_have_text("1 of 1")
    expect(page.locator("#custom-id")).to_have_text("h2")


def test_single_lines_are_labelled_with_a_digit(page: Page, server: LiveServer) -> None:
    batch_id = run(server, single_lines(["A good answer.", "A good one too.", "Meh."]))
    sign_in(page, server.base_url, API_KEY)
    page.goto(review_url(server, batch_id, "score=4"))
    expect(page.locator("#position")).to_have_text("1 of 2")
    expect(page.locator("#verdict")).to_contain_text("Overall score: 4")
    expect(page.locator("#answer-1")).to_have_text("A good answer.")
    expect(page.locator("#agreement-mode")).to_have_text("(no labels yet)")
    page.keyboard.press("4")
    expect(page.locator("#agreement-n")).to_have_text("1")
    expect(page.locator("#agreement-accuracy")).to_have_text("1.000")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#custom-id")).to_have_text("s1")
    page.keyboard.press("2")
    expect(page.locator("#agreement-n")).to_have_text("2")
    expect(page.locator("#agreement-accuracy")).to_have_text("0.500")
    expect(page.locator("#line-labels")).to_contain_text("default: 2")
    screenshot(page, "review-single")


def test_caller_text_is_text_chinese_and_long_code_render(page: Page, server: LiveServer) -> None:
    batch = lines("pai-judge", 1, 0, question=CHINESE, answer1=CODE, answer2=XSS, reference=XSS)
    batch_id = run(server, batch)
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    sign_in(page, server.base_url, API_KEY)
    page.goto(review_url(server, batch_id))
    expect(page.locator("#question")).to_have_text(CHINESE)
    expect(page.locator("#answer-2")).to_have_text(XSS)
    expect(page.locator("#reference")).to_have_text(XSS)
    expect(page.locator("#answer-1")).to_contain_text("def step_59(x):")
    assert page.locator("#answer-2 script, #answer-2 img, #reference img").count() == 0
    # nothing overflows the page sideways: long code lines wrap inside their box
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "review-caller-text")
    assert dialogs == []


def test_another_tenants_batch_is_the_404_page(page: Page, server: LiveServer) -> None:
    batch_id = run(server, lines("pai-judge", 1, 0))
    admin = {"Authorization": f"Bearer {ADMIN}"}
    other = server.request(
        "POST", f"{server.base_url}/admin/keys", json.dumps({"name": "other", "tenant": "other"}), admin
    ).json()
    sign_in(page, server.base_url, other["key"])
    response = page.goto(review_url(server, batch_id))
    assert response is not None and response.status == 404
    expect(page.locator("#error-status")).to_have_text("Not found")
    theirs = page.locator("#error-message").inner_text()
    missing = page.goto(review_url(server, "batch_doesnotexist0000"))
    assert missing is not None and missing.status == 404
    assert page.locator("#error-message").inner_text() == theirs.replace(batch_id, "batch_doesnotexist0000")
    assert page.locator("#custom-id").count() == 0
    screenshot(page, "review-other-tenant")


def test_the_label_form_posts_without_script_and_needs_the_csrf_token(page: Page, server: LiveServer) -> None:
    batch_id = run(server, lines("pai-judge", 1, 0))
    sign_in(page, server.base_url, API_KEY)
    page.goto(review_url(server, batch_id))
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    cookie = next(c for c in page.context.cookies() if c["name"] == "jurist_session")
    headers_ = {
        "Cookie": f"jurist_session={cookie['value']}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    url = review_url(server, batch_id) + "/labels"
    back = f"/console/batches/{batch_id}/review?i=1"
    forged = server.request("POST", url, f"csrf=forged&custom_id=e0&label=2&back={back}", headers_)
    assert forged.status == 403 and b"security token" in forged.body
    sent = server.request("POST", url, f"csrf={csrf}&custom_id=e0&label=2&annotator=bo&back={back}", headers_)
    assert sent.status == 303 and sent.headers["location"] == back
    bad = server.request("POST", url, f"csrf={csrf}&custom_id=e0&label=7&back={back}", headers_)
    assert bad.status == 400 and b"labels[0].label must be" in bad.body
    listed = server.request("GET", f"{server.base_url}/batches/{batch_id}/labels", headers=headers()).json()
    assert [(r["custom_id"], r["annotator"], r["label"]) for r in listed["data"]] == [("e0", "bo", "2")]
    page.reload()
    expect(page.locator("#line-labels")).to_have_text("bo: 2")
    expect(page.locator("#agreement-accuracy")).to_have_text("0.000")
