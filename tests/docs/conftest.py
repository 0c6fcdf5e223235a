"""The documentation's examples: one set of servers for the whole session, and at the end of the output
the example blocks that were not run, each with the reason its markup gives."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.docs.example_blocks import load_pages, summary_lines
from tests.docs.example_runner import DocRuns
from tests.docs.example_server import Servers

_EXAMPLES_COLLECTED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def doc_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The stub judge and ``jurist serve`` on it (the embedded model's server once a block asks)."""
    servers = Servers(tmp_path_factory.mktemp("docs-servers"))
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(scope="session")
def doc_runs(tmp_path_factory: pytest.TempPathFactory, doc_servers: Servers) -> Iterator[DocRuns]:
    runs = DocRuns(tmp_path_factory.mktemp("docs-pages"), doc_servers)
    try:
        yield runs
    finally:
        runs.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    config.stash[_EXAMPLES_COLLECTED] = any(item.path.name == "test_examples.py" for item in items)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if config.stash.get(_EXAMPLES_COLLECTED, False):
        terminalreporter.section("documentation examples")
        for line in summary_lines(load_pages()):
            terminalreporter.write_line(line)
