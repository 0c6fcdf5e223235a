"""MkDocs hook: the reference pages are generated from the code at build time, never written twice.

A page holds a marker, an HTML comment alone on its line, that this hook replaces with generated
Markdown before the page is rendered:

    <!-- jurist:cli -->            every ``jurist`` command, by click introspection of the typer app
    <!-- jurist:settings -->       the ``JURIST_*`` settings, from the pydantic-settings model's fields
    <!-- jurist:model-options -->  the ``[models.NAME]`` options, from the model configuration classes
    <!-- jurist:http-api -->       every HTTP operation, from the app's ``/openapi.json``
    <!-- jurist:errors -->         the error tree, from ``jurist.errors``

An unknown marker fails the build (``mkdocs build --strict`` runs in ``make lint``)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))  # the sibling modules below

import ref_cli
import ref_config
import ref_errors
import ref_openapi

log = logging.getLogger("mkdocs.plugins.jurist")
MARKER = re.compile(r"^<!-- jurist:([a-z-]+) -->$", re.MULTILINE)
GENERATORS: dict[str, Callable[[], str]] = {
    "cli": ref_cli.render,
    "settings": ref_config.render_settings,
    "model-options": ref_config.render_model_options,
    "http-api": ref_openapi.render,
    "errors": ref_errors.render,
}
_cache: dict[str, str] = {}


def _generated(name: str) -> str:
    if name not in _cache:
        _cache[name] = GENERATORS[name]()
    return _cache[name]


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            log.warning("%s: unknown marker <!-- jurist:%s -->", page.file.src_uri, name)
            return match.group(0)
        return _generated(name)

    return MARKER.sub(replace, markdown)


def on_config(config: Any) -> Any:
    _cache.clear()  # each build (``mkdocs serve`` rebuilds) generates the pages afresh
    for warning in ref_config.stale_descriptions():
        log.warning(warning)
    return config
