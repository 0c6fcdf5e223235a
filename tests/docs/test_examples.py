"""Every code example in README.md and docs/**/*.md runs against a live ``jurist serve`` (remote judges on
the judge stub; the embedded model for blocks marked ``embedded``) and must succeed and print the output
the page shows. One test per block, ``README.md:37`` (the opening fence's line); a page's blocks run in
order in one working directory (selecting one block runs the ones above it on its page first). A block
marked ``skip`` is not a test: the end of the output lists it with its reason. Markers:
``tests/docs/example_blocks.py``; the environment: ``example_server.py`` and ``example_runner.py``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.docs.example_blocks import Page, load_pages
from tests.docs.example_runner import DocRuns

PAGES = {page.path: page for page in load_pages()}


def _cases() -> list[Any]:
    cases = []
    for page in PAGES.values():
        lines = {line for line, _ in page.errors} | {b.line for b in page.blocks if b.runs}
        cases += [pytest.param(page.path, line, id=f"{page.path}:{line}") for line in sorted(lines)]
    return cases or [pytest.param("", 0, id="no-examples")]


def _page(path: str) -> Page:
    assert path in PAGES, "no executed example block in README.md or docs/"
    return PAGES[path]


@pytest.mark.parametrize(("path", "line"), _cases())
def test_example(path: str, line: int, request: pytest.FixtureRequest) -> None:
    page = _page(path)
    error = page.error_at(line)
    if error is not None:
        pytest.fail(f"{path}:{line}: bad example markup: {error}", pytrace=False)
    block = next(b for b in page.blocks if b.line == line)
    runs: DocRuns = request.getfixturevalue("doc_runs")
    page_run = runs.page(page)
    outcome = page_run.outcome(block)
    earlier = page_run.failed_before(block)
    note = f"\n(earlier blocks of this page failed: {', '.join(earlier)})" if earlier else ""
    if not outcome.ok:
        pytest.fail(outcome.report() + note, pytrace=False)
