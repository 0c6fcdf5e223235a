"""The HTML report in a real headless Chromium (playwright): every chart renders with drawn marks, and
the page logs no JavaScript error. It opens from file:// with no network (plotly.js is inlined)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from jurist.evaluation.report import build_report
from jurist.evaluation.report_html import CHART_IDS, render_html
from tests.support.console import chromium
from tests.support.report_lines import arena, pair_output, single_output, swapped_output
from tests.support.trust_lines import trust_batch

# what each chart draws: bars, or points (the leaderboard), and whether it has CI error bars
MARKS = {
    "score_distribution": (".barlayer .point path", 5, False),
    "criteria": (".barlayer .point path", 2, True),
    "outcomes": (".barlayer .point path", 3, False),
    "pair_criteria": (".barlayer .point path", 2, True),
    "leaderboard": (".scatterlayer .points path", 3, True),
    "leaderboard_style": (".scatterlayer .points path", 3, True),
    "health": (".barlayer .point path", 4, True),
    # the diagonal (a line, no markers), then the calibrated (8 bins) and raw (4 bins) confidences
    "reliability": (".scatterlayer .points path", 12, False),
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def full_report_page(tmp_path: Path) -> Path:
    inputs, outputs = arena({"alpha": 1.0, "beta": 0.2, "gamma": -0.8}, 150)
    outputs += [single_output(f"s{i}", 1 + i % 5, {"Accuracy": 1 + i % 5, "Clarity": 3}) for i in range(25)]
    outputs += [swapped_output(f"w{i}", "response_1", ("response_1", "response_2")[i % 2]) for i in range(10)]
    outputs.append(pair_output("unscored", None))
    trusted, labels = trust_batch()  # labelled lines with confidences: the reliability diagram
    outputs += trusted
    path = tmp_path / "report.html"
    path.write_text(render_html(build_report(outputs, inputs, rounds=100, labels=labels)), encoding="utf-8")
    return path


def test_html_report_shows_its_charts_in_chromium(browser: Browser, tmp_path: Path) -> None:
    page_file = full_report_page(tmp_path)
    page = browser.new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("request", lambda req: requests.append(req.url))
    page.goto(page_file.as_uri())
    for key, (selector, count, error_bars) in MARKS.items():
        chart = f"#{CHART_IDS[key]}"
        page.wait_for_selector(f"{chart}.js-plotly-plot .main-svg", timeout=20_000)
        assert page.locator(f"{chart} {selector}").count() == count, key
        box = page.locator(chart).bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 200, (key, box)
        if error_bars:
            assert page.locator(f"{chart} .errorbar").count() >= 1, key
    bar = page.locator(f"#{CHART_IDS['outcomes']} .barlayer .point path").first.bounding_box()
    assert bar is not None and bar["height"] > 10  # a drawn bar, not an empty placeholder
    assert page.locator("section.report-chart").count() == len(MARKS)
    assert "alpha" in page.locator(f"#{CHART_IDS['leaderboard']}").inner_text()
    reliability = f"#{CHART_IDS['reliability']}"
    assert page.locator(f"{reliability} .scatterlayer .trace").count() == 3
    assert page.locator(f"{reliability} .scatterlayer .js-line").count() == 3  # the diagonal drawn too
    diagonal = page.locator(f"{reliability} .scatterlayer .js-line").first.bounding_box()
    assert diagonal is not None and diagonal["width"] > 200 and diagonal["height"] > 150
    assert problems == []
    assert all(url.startswith("file://") for url in requests), requests  # nothing fetched from a network
    page.close()


def test_a_single_only_report_draws_only_its_charts(browser: Browser, tmp_path: Path) -> None:
    path = tmp_path / "single.html"
    report = build_report([single_output(f"s{i}", 2 + i % 3, {"Accuracy": 3}) for i in range(9)], rounds=50)
    path.write_text(render_html(report), encoding="utf-8")
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(path.as_uri())
    page.wait_for_selector(f"#{CHART_IDS['score_distribution']} .main-svg", timeout=20_000)
    assert page.locator(f"#{CHART_IDS['score_distribution']} .barlayer .point path").count() == 5
    assert page.locator(f"#{CHART_IDS['outcomes']}").count() == 0
    assert page.locator(f"#{CHART_IDS['leaderboard']}").count() == 0
    assert problems == []
    page.close()
