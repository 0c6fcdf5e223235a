"""The CLI reference: every ``jurist`` command, read from the typer app by click introspection
(``typer.main.get_command(app)``): usage, help, arguments and options with their defaults, epilogs."""

from __future__ import annotations

import inspect
from typing import Any

import typer

from jurist.cli.main import app


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")


def _usage(path: list[str], command: Any) -> str:
    pieces = [*path, "[OPTIONS]"]
    for param in command.params:
        if param.param_type_name == "argument":
            name = param.name.upper()
            pieces.append(name if param.required else f"[{name}]")
    if hasattr(command, "commands"):
        pieces.append("COMMAND [ARGS]...")
    return " ".join(pieces)


def _params(command: Any, ctx: Any) -> list[str]:
    rows = []
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        kind = "argument" if param.param_type_name == "argument" else "option"
        rows.append(f"| `{names}` | {kind} | {_cell(help_text)} |")
    if not rows:
        return []
    return ["| name | kind | help |", "|---|---|---|", *rows, ""]


def _command(path: list[str], command: Any, parent: Any, out: list[str]) -> None:
    ctx = command.make_context(path[-1], [], parent=parent, resilient_parsing=True)
    title = " ".join(path)
    anchor = "-".join(path)
    level = "#" * min(len(path) + 1, 4)
    out += [f"{level} `{title}` {{#{anchor}}}", ""]
    if command.help:  # click's "\b" lines (keep the next paragraph's line breaks) are not text
        out += [inspect.cleandoc(command.help).replace("\b\n", ""), ""]
    out += ["```text", _usage(path, command), "```", ""]
    out += _params(command, ctx)
    if command.epilog:
        out += ["```text", inspect.cleandoc(command.epilog), "```", ""]
    if hasattr(command, "commands"):
        subs = [(name, sub) for name, sub in command.commands.items() if not sub.hidden]
        out += ["| command | what it does |", "|---|---|"]
        for name, sub in subs:
            summary = inspect.cleandoc(sub.help or "").split("\n\n")[0]
            out.append(f"| [`{' '.join([*path, name])}`](#{'-'.join([*path, name])}) | {_cell(summary)} |")
        out.append("")
        for name, sub in subs:
            _command([*path, name], sub, ctx, out)


def render() -> str:
    out: list[str] = []
    _command(["jurist"], typer.main.get_command(app), None, out)
    return "\n".join(out)
