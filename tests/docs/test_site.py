"""The documentation site (mkdocs.yml, docs/): the real ``mkdocs build --strict`` succeeds (so no broken
link, unknown anchor or page missing from the nav), every page of the nav is built, the built pages load
nothing from another host (no web fonts, scripts or stylesheets: the site works offline), the generated
reference pages hold what the code has, and README.md stays a front page whose links reach built pages.
One build for the module."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import typer
import yaml

import jurist.errors as errors
from jurist.cli.main import app
from jurist.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README_MAX_LINES = 250
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@dataclass(frozen=True)
class Build:
    site: Path
    returncode: int
    log: str

    def page(self, source: str) -> Path:
        """The built file of a docs page (``use_directory_urls: false``: ``a/b.md`` → ``a/b.html``)."""
        return self.site / (source.removesuffix(".md") + ".html")

    def text(self, source: str) -> str:
        """The page's text, tags removed and entities decoded."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.page(source).read_text()))


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    site = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    return Build(site, done.returncode, done.stdout + done.stderr)


@pytest.fixture
def built(build: Build) -> Build:
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.log[-6000:]}"
    return build


def nav_pages() -> list[str]:
    def walk(node: object) -> list[str]:
        if isinstance(node, str):
            return [node] if node.endswith(".md") else []
        if isinstance(node, dict):
            return [p for value in node.values() for p in walk(value)]
        if isinstance(node, list):
            return [p for value in node for p in walk(value)]
        return []

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    return walk(config["nav"])


class Resources(HTMLParser):
    """What a page loads: script and link URLs, inline CSS, and elements that make Material's bundle
    fetch a script of its own (a ``mermaid`` diagram loads mermaid.js from a CDN)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []  # (tag, url)
        self.css: list[str] = []
        self.mermaid = False
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "script" and values.get("src"):
            self.urls.append((tag, values["src"]))
        if tag == "link" and values.get("href"):
            self.urls.append((f"link rel={values.get('rel', '')}", values["href"]))
        if tag in ("img", "iframe", "source", "audio", "video", "embed") and values.get("src"):
            self.urls.append((tag, values["src"]))
        if "style" in values:
            self.css.append(values["style"])
        if "mermaid" in values.get("class", "").split():
            self.mermaid = True
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.css.append(data)


def external(url: str) -> bool:
    parts = urlsplit(url.strip())
    if url.strip().startswith("//"):
        return (parts.hostname or "") not in LOCAL_HOSTS
    return parts.scheme in ("http", "https") and (parts.hostname or "") not in LOCAL_HOSTS


def css_urls(css: str) -> list[str]:
    found = re.findall(r"url\(\s*['\"]?([^'\")]+)", css)
    return found + re.findall(r"@import\s+['\"]([^'\"]+)", css)


def test_the_strict_build_succeeds(build: Build) -> None:
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.log[-6000:]}"


def test_every_nav_page_is_built_and_its_markers_replaced(built: Build) -> None:
    pages = nav_pages()
    assert len(pages) >= 25 and len(set(pages)) == len(pages)
    for source in pages:
        assert (ROOT / "docs" / source).is_file(), f"the nav names docs/{source}, which does not exist"
        assert built.page(source).is_file(), f"docs/{source} was not built"
        assert "<!-- jurist:" not in built.page(source).read_text(), f"docs/{source}: a marker was left"
    for section in ("getting-started.md", "experiments.md", "console.md", "benchmarks.md",
                    "evals/coming-from-openai.md", "operations/serving-a-judge.md",
                    "reference/shell-completion.md"):  # fmt: skip
        assert section in pages


def test_no_page_loads_anything_from_another_host(built: Build) -> None:
    pages = sorted(built.site.rglob("*.html"))
    assert len(pages) >= len(nav_pages())
    for page in pages:
        found = Resources()
        found.feed(page.read_text())
        where = page.relative_to(built.site)
        loaded = [(tag, url) for tag, url in found.urls if external(url)]
        loaded += [("css", url) for css in found.css for url in css_urls(css) if external(url)]
        assert loaded == [], f"{where} loads from another host: {loaded}"
        assert not found.mermaid, f"{where} has a mermaid diagram: Material would fetch mermaid.js from a CDN"
        assert "fonts.googleapis.com" not in page.read_text() and "fonts.gstatic.com" not in page.read_text()
    for sheet in built.site.rglob("*.css"):
        assert [u for u in css_urls(sheet.read_text()) if external(u)] == [], (
            f"{sheet} loads from another host"
        )


def test_the_http_api_reference_is_generated_from_the_openapi_document(built: Build) -> None:
    text = built.text("reference/http-api.md")
    for operation in ("POST /v1/chat/completions", "GET /v1/evals/{eval_id}/runs", "POST /v1/evals/{eval_id}/runs",
                      "POST /v1/batches", "GET /v1/files/{file_id}/content", "GET /v1/usage",
                      "POST /v1/admin/keys"):  # fmt: skip
        assert operation in text, operation
    assert "JuristJudgment" in text and "JuristJudgeItem" in text


def test_the_cli_reference_lists_every_command(built: Build) -> None:
    text = built.text("reference/cli.md")
    assert "jurist gate" in text and "--max-regression" in text

    def names(command: object, path: str) -> list[str]:
        subs = getattr(command, "commands", {})
        return [path] + [n for name, sub in subs.items() for n in names(sub, f"{path} {name}")]

    for name in names(typer.main.get_command(app), "jurist"):
        assert name in text, f"{name} is missing from the CLI reference"


def test_the_configuration_and_error_references_follow_the_code(built: Build) -> None:
    config = built.text("reference/config.md")
    for field in Settings.model_fields:
        assert f"JURIST_{field.upper()}" in config, field
    for option in ("base_url", "model_path", "parallel", "escalate_below", "swap", "samples", "reasons"):
        assert f"{option}" in config, option
    errors_page = built.text("reference/errors.md")
    pending: list[type[errors.JuristError]] = [errors.JuristError]
    while pending:
        cls = pending.pop()
        assert cls.__name__ in errors_page, cls.__name__
        pending += cls.__subclasses__()


def test_the_readme_is_a_front_page_whose_links_reach_built_pages(built: Build) -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= README_MAX_LINES
    pages = set(nav_pages())
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert len(local) >= 10
    for target in local:
        path, _, anchor = target.partition("#")
        assert path.startswith("docs/") and path.endswith(".md"), f"README links to {target}: not a docs page"
        source = path.removeprefix("docs/")
        assert (ROOT / path).is_file() and source in pages, (
            f"README links to {target}: no such page in the nav"
        )
        if anchor:
            assert f'id="{unquote(anchor)}"' in built.page(source).read_text(), (
                f"README: {target}: no such anchor"
            )
