"""The CLI documents itself: every ``jurist`` command, found by click introspection of the typer app (a new
command is checked without touching this file), has a one-line summary, a help paragraph and an example
in its ``--help``, and each example is a valid invocation of that command (its sub-command path, its
options, their values); ``jurist --version`` prints the installed version; shell completion is there."""

from __future__ import annotations

import importlib.metadata
import inspect
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from jurist.cli.main import app
from jurist.settings import Settings

ROOT: Any = typer.main.get_command(app)
VERSION = importlib.metadata.version("jurist")
# a line of an epilog that runs jurist: maybe after "Example:", maybe after JURIST_* assignments
INVOCATION = re.compile(r"^(?:Examples?:\s+)?(?:[A-Z_][A-Z0-9_]*=\S+\s+)*jurist(?:\s|$)")
SHELL_OPERATORS = {">", ">>", "<", "|", "&&", "||", ";"}
INPUT_FILE = re.compile(r"^[\w./-]+\.(?:jsonl|json|yaml|yml|toml)$")


def _walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, (*path, name))


COMMANDS = list(_walk(ROOT, ()))
IDS = [" ".join(("jurist", *path)) for path, _ in COMMANDS]


def _invocations(epilog: str) -> list[tuple[dict[str, str], list[str]]]:
    """The example command lines of an epilog (``\\`` continuations joined): the environment they set
    and the arguments after ``jurist``, up to the first shell operator."""
    logical, pending = [], ""
    for line in epilog.splitlines():
        pending += line.strip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        logical.append(pending)
        pending = ""
    found = []
    for line in [*logical, pending]:
        if not INVOCATION.match(line):
            continue
        lexer = shlex.shlex(re.sub(r"^Examples?:\s+", "", line), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        start = tokens.index("jurist")
        env = dict(token.split("=", 1) for token in tokens[:start])
        args = tokens[start + 1 :]
        cut = next((i for i, token in enumerate(args) if token in SHELL_OPERATORS), len(args))
        found.append((env, args[:cut]))
    return found


def _resolve(args: list[str]) -> tuple[tuple[str, ...], Any, list[str]]:
    """The command the arguments name (the sub-command path taken), and the arguments left for it."""
    command, path = ROOT, ()
    while args and args[0] in getattr(command, "commands", {}):
        command, path, args = command.commands[args[0]], (*path, args[0]), args[1:]
    return path, command, args


def _option_names(command: Any) -> set[str]:
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts)}


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_help_has_a_summary_a_paragraph_and_an_example(path: tuple[str, ...], command: Any) -> None:
    paragraphs = inspect.cleandoc(command.help or "").split("\n\n")
    assert paragraphs[0].strip() and "\n" not in paragraphs[0], "a one-line summary first"
    assert len(paragraphs) >= 2 and paragraphs[1].strip(), "a help paragraph after the summary"
    assert (command.epilog or "").startswith("Example"), "an epilog of examples"

    result = CliRunner().invoke(app, [*path, "--help"], prog_name="jurist", env={"COLUMNS": "100"})

    assert result.exit_code == 0, result.output
    assert paragraphs[0].strip() in " ".join(result.output.split())
    examples = result.output.index("Example")
    invocation = " ".join(("jurist", *path))
    assert invocation in result.output[examples:], f"no `{invocation}` under Example"
    # the examples keep their lines: each invocation starts a line of the rendered help
    for _, args in _invocations(command.epilog):
        first = " ".join(["jurist", *args][:2])
        assert re.search(rf"^\s*(?:\S+=\S+\s+)?{re.escape(first)}", result.output, re.MULTILINE), first


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_example_is_a_valid_invocation_of_its_command(
    path: tuple[str, ...], command: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the input files the examples name exist here (empty)
    invocations = _invocations(command.epilog or "")
    assert invocations, f"no `jurist {' '.join(path)}` example"
    for env, args in invocations:
        for name in env:
            assert name.startswith("JURIST_"), name
            assert name.removeprefix("JURIST_").lower() in Settings.model_fields, f"no setting {name}"
        taken, target, rest = _resolve(args)
        assert taken[: len(path)] == path, f"an example of {taken}, not of {path}"
        if hasattr(target, "commands"):  # a group: only its own options, no unknown command
            assert all(arg in _option_names(target) for arg in rest), rest
            continue
        for arg in rest:
            if INPUT_FILE.match(arg):
                (tmp_path / arg).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / arg).touch()
        # click's own parsing: unknown options, missing required ones, bad values and extra arguments raise
        context = target.make_context(" ".join(("jurist", *taken)), list(rest))
        assert context.params is not None


def test_an_example_naming_an_unknown_option_is_refused() -> None:
    """The check above can fail: click refuses an option the command does not have."""
    _, serve, rest = _resolve(["serve", "--margin", "0.02"])
    with pytest.raises(Exception, match="No such option"):
        serve.make_context("jurist serve", rest)


def test_invocations_are_read_across_continuations_and_up_to_a_redirection() -> None:
    epilog = 'Example:\n\nSay:\n  JURIST_CONFIG=j.toml jurist gate --eval e \\\n      --key "$K" >> out.md\n'
    assert _invocations(epilog) == [({"JURIST_CONFIG": "j.toml"}, ["gate", "--eval", "e", "--key", "$K"])]


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_prints_the_installed_package_version(flag: str) -> None:
    result = CliRunner().invoke(app, [flag], prog_name="jurist")

    assert result.exit_code == 0, result.output
    assert result.output == f"jurist {VERSION}\n"


def test_version_from_the_installed_entry_point() -> None:
    jurist = Path(sys.executable).parent / "jurist"

    done = subprocess.run([str(jurist), "--version"], capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"jurist {VERSION}\n"


def test_completion_options_are_offered() -> None:
    assert {"--install-completion", "--show-completion"} <= _option_names(ROOT)
    result = CliRunner().invoke(app, ["--help"], prog_name="jurist")
    assert "--install-completion" in result.output
    assert "--show-completion" in result.output


def test_the_bash_completion_script_and_its_completions() -> None:
    """What the completion docs show: the script of a given shell, and the completions it asks for."""
    runner = CliRunner()

    script = runner.invoke(app, [], prog_name="jurist", env={"_JURIST_COMPLETE": "source_bash"})
    words = runner.invoke(
        app, [], prog_name="jurist",
        env={"_JURIST_COMPLETE": "complete_bash", "COMP_WORDS": "jurist keys ", "COMP_CWORD": "2"},
    )  # fmt: skip
    options = runner.invoke(
        app, [], prog_name="jurist",
        env={"_JURIST_COMPLETE": "complete_bash", "COMP_WORDS": "jurist serve --", "COMP_CWORD": "2"},
    )  # fmt: skip

    assert script.exit_code == 0
    assert "complete -o default -F _jurist_completion jurist" in script.output
    assert words.output.split() == ["create", "list", "revoke"]
    assert options.output.split() == ["--host", "--port", "--help"]
