"""What the commands of ``jurist.cli.main`` and ``jurist.cli.service`` share: the settings (a configuration
error is exit 2 with its message), notices on stderr, and ``jurist --version``."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from jurist.errors import ConfigError
from jurist.settings import Settings, load_settings

err = Console(stderr=True)


def settings(**overrides: Any) -> Settings:
    """The settings, with the options given (not ``None``) over the environment and the file."""
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise config_error(exc) from exc


def config_error(exc: ConfigError) -> typer.Exit:
    err.print(f"[red]configuration error:[/red] {escape(exc.message)}")
    return typer.Exit(2)


def print_notices(notices: Iterable[str]) -> None:
    for notice in notices:
        err.print(f"[yellow]notice:[/yellow] {escape(notice)}")


def version() -> str:
    """``jurist <version>``, the installed package's version."""
    return f"jurist {importlib.metadata.version('jurist')}"


def print_version(value: bool) -> None:
    """The eager ``--version`` option's callback: print the version and exit 0."""
    if value:
        typer.echo(version())
        raise typer.Exit()
