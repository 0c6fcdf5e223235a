"""The ``jurist`` command: the typer app, ``jurist --version``, and ``eval``, ``run``, ``report``, ``usage``
and ``doctor``. The service's commands (``serve``, ``worker``, ``db upgrade``, ``config show``) are in
``jurist.cli.service``, the command groups in their own modules; every command's example is its epilog
(``jurist.cli.examples``). Shell completion is typer's (``--install-completion``, ``--show-completion``)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from jurist.cli import examples
from jurist.cli.common import config_error as _config_error
from jurist.cli.common import err, print_version
from jurist.cli.common import settings as _settings
from jurist.cli.compare import EXAMPLE as COMPARE_EXAMPLE
from jurist.cli.compare import compare_command
from jurist.cli.compare_batches import EXAMPLE as COMPARE_BATCHES_EXAMPLE
from jurist.cli.compare_batches import compare_batches_command
from jurist.cli.evals import evals_app
from jurist.cli.gate import EXAMPLE as GATE_EXAMPLE
from jurist.cli.gate import gate_command
from jurist.cli.head_to_head import head_to_head_command
from jurist.cli.keys import keys_app
from jurist.cli.labels import labels_app
from jurist.cli.leaderboard import leaderboard_command
from jurist.cli.service import config_show, db_upgrade, serve, worker
from jurist.errors import ConfigError

app = typer.Typer(help=examples.ROOT_HELP, epilog=examples.ROOT, no_args_is_help=True)
config_app = typer.Typer(help=examples.CONFIG_HELP, epilog=examples.CONFIG, no_args_is_help=True)
db_app = typer.Typer(help=examples.DB_HELP, epilog=examples.DB, no_args_is_help=True)
app.command("serve", epilog=examples.SERVE)(serve)
app.command("worker", epilog=examples.WORKER)(worker)
db_app.command("upgrade", epilog=examples.DB_UPGRADE)(db_upgrade)
config_app.command("show", epilog=examples.CONFIG_SHOW)(config_show)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=print_version, is_eager=True, help="Print jurist's version and exit."
        ),
    ] = False,
) -> None:
    pass


@app.command("eval", epilog=examples.EVAL)
def eval_command(
    data: Annotated[
        Path,
        typer.Argument(
            help="Labelled pairs: PandaLM's test set or JSONL {question, answer1, answer2, label}."
        ),
    ],
    judgments: Annotated[
        Path | None, typer.Option(help="Score another judge's committed judgments instead of judging.")
    ] = None,
    model: Annotated[str, typer.Option(help="Judge model to evaluate.")] = "pai-judge",
    server: Annotated[
        str | None, typer.Option(help="Judge through a running server (base URL .../v1).")
    ] = None,
    key: Annotated[str | None, typer.Option(help="API key for --server.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N items.")] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(help="Items judged at once (default: the model's concurrency; 8 with --server)."),
    ] = None,
    criteria: Annotated[
        list[str] | None,
        typer.Option("--criterion", help="Judge pairs on these criteria (repeatable; default: the model's)."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the full report as JSON.")
    ] = None,
    agreement_target: Annotated[
        float | None,
        typer.Option(help="Selective verdicts: accept only where humans agree at this rate (0.5–1)."),
    ] = None,
    delta: Annotated[float, typer.Option(help="Selective verdicts: chance the promise may fail.")] = 0.1,
    calibration: Annotated[
        Path | None, typer.Option(help="Labelled pairs the selective threshold is fitted on.")
    ] = None,
    calibration_judgments: Annotated[
        Path | None, typer.Option(help="The judge's judgments of the --calibration pairs.")
    ] = None,
) -> None:
    """Measure a judge against human labels (a meta-evaluation).

    Judges each labelled pair in both orders (with a configured model, here
    or on --server), or scores another judge's judgments (--judgments), and
    reports accuracy with a bootstrap 95% CI, macro F1, positional agreement
    and the baselines (random, always first, longer wins). Graded sets get
    Pearson and Kendall's tau-b instead. With --agreement-target, selective
    verdicts: accept only where humans would agree at that rate.
    """
    import aiohttp

    from jurist.cli.evaluation import Selective, model_concurrency, run_eval
    from jurist.evaluation.selective import validate

    selective = None
    if agreement_target is not None:
        if calibration is None or calibration_judgments is None:
            err.print("[red]--agreement-target needs --calibration and --calibration-judgments[/red]")
            raise typer.Exit(2)
        try:
            validate(agreement_target, delta)  # before any judging
        except ValueError as exc:
            err.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
        selective = Selective(agreement_target, delta, calibration, calibration_judgments)

    if concurrency is None:
        concurrency = 8 if server is not None else model_concurrency(_settings(), model)
    try:
        report = run_eval(
            data, judgments, model, server, key, limit, concurrency, _settings if server is None else None,
            criteria or None, selective,
        )  # fmt: skip
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    except aiohttp.ClientError as exc:
        err.print(f"[red]could not reach the judge server {server}:[/red] {exc}")
        raise typer.Exit(2) from exc
    except ConfigError as exc:
        raise _config_error(exc) from exc
    if json_out is not None:
        json_out.write_text(json.dumps(report, indent=2))


@app.command("run", epilog=examples.RUN)
def run_command(
    input_file: Annotated[
        Path, typer.Argument(help="A batch input file (.jsonl, the Batch API's line format).")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where successful lines go.")],
    errors: Annotated[
        Path | None, typer.Option(help="Where failed lines go (default: OUTPUT.errors.jsonl).")
    ] = None,
) -> None:
    """Judge a batch input file locally, no server needed.

    Reads the Batch API's input lines, judges them with the configured
    models in this process (a progress bar on stderr) and writes the
    Batch API's output and error lines. Run the same command again to
    resume after Ctrl-C or a crash: lines already in either file are skipped.
    """
    from jurist.cli.local_run import run_local

    settings = _settings()
    logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")
    errors = errors or output.with_name(output.name.removesuffix(".jsonl") + ".errors.jsonl")
    try:
        code = run_local(settings, input_file, output, errors)
    except ConfigError as exc:
        raise _config_error(exc) from exc
    raise typer.Exit(code)


@app.command("report", epilog=examples.REPORT)
def report_command(
    output: Annotated[
        Path, typer.Argument(help="A batch output file (.jsonl), from the API or `jurist run`.")
    ],
    input_file: Annotated[
        Path | None,
        typer.Option("--input", help="The batch input file: competitors' names and answer lengths."),
    ] = None,
    errors: Annotated[Path | None, typer.Option(help="The batch error file, to count failed lines.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or html.")] = "table",
    out_file: Annotated[Path | None, typer.Option("-o", "--output", help="Write here, not stdout.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap resampling.")] = 0,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap rounds for every CI.")] = 1000,
) -> None:
    """Report on a batch's output: scores, win rates, leaderboard.

    Reads a batch output file (from the API or `jurist run`), with its input
    file for the competitors' names and answer lengths and its error file
    for the failed lines: the score distribution, win rates, a Bradley–Terry
    leaderboard with bootstrap CIs and the judge's health, as tables, JSON
    or one self-contained HTML page.
    """
    from jurist.cli.report import FORMATS, run_report

    if fmt not in FORMATS:
        err.print(f"[red]--format must be table, json or html, not {fmt!r}[/red]")
        raise typer.Exit(2)
    for path in (output, input_file, errors):
        if path is not None and not path.is_file():
            err.print(f"[red]no such file:[/red] {path}")
            raise typer.Exit(2)
    run_report(output, input_file, errors, FORMATS[fmt], out_file, max(1, bootstrap), seed)


@app.command("usage", epilog=examples.USAGE)
def usage_command(
    tenant: Annotated[
        str | None, typer.Option(help="Only this tenant and its sub-tenants (default: every tenant).")
    ] = None,
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (default: end - 29 days).")] = None,
    end: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (default: today, UTC).")] = None,
    group_by: Annotated[
        str | None,
        typer.Option(
            help="tenant, day or model, or several comma-separated (default: tenant; model with --tenant)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the /v1/admin/usage JSON instead.")] = False,
) -> None:
    """Usage and cost per tenant, day and model.

    Reads the configured database (the figures GET /v1/admin/usage answers):
    requests, tokens and cost, grouped by tenant, day or model, or several,
    as a table or JSON.
    """
    import asyncio

    from jurist.cli.usage import print_usage, usage_report
    from jurist.errors import InvalidRequest

    settings = _settings()
    try:
        report = asyncio.run(usage_report(settings, tenant, start, end, group_by))
    except InvalidRequest as exc:
        err.print(f"[red]{escape(exc.message)}[/red]")
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        print_usage(report, Console())


@app.command("doctor", epilog=examples.DOCTOR)
def doctor_command(
    offline: Annotated[bool, typer.Option(help="Skip the 1-token call to each remote model.")] = False,
) -> None:
    """Check every part and print what a bug report needs.

    CPU flags, versions, llama.cpp's system info, the data dir, the database
    (reachable, migrated), the python grader, and every model: the embedded
    one is self-tested in its own process, a remote one answers a 1-token
    call (skipped with --offline). Exits 1 when something is broken.
    """
    import asyncio

    from rich.table import Table

    from jurist.cli.doctor import diagnose

    settings = _settings()
    checks = asyncio.run(diagnose(settings, offline))
    table = Table(show_lines=False, expand=True)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold")
    colours = {"ok": "green", "warn": "yellow", "fail": "red", "skip": "dim"}
    for check in checks:
        colour = colours.get(check.status, "white")
        table.add_row(escape(check.name), f"[{colour}]{check.status}[/{colour}]", escape(check.detail))
    Console(width=max(100, Console().width)).print(table)
    broken = [c.name for c in checks if c.status == "fail"]
    if broken:
        err.print(f"[red]broken:[/red] {escape(', '.join(broken))}")
        raise typer.Exit(1)


app.command("compare", epilog=COMPARE_EXAMPLE)(compare_command)
app.command("compare-batches", epilog=COMPARE_BATCHES_EXAMPLE)(compare_batches_command)
app.command("gate", epilog=GATE_EXAMPLE)(gate_command)
app.command("head-to-head", epilog=examples.HEAD_TO_HEAD)(head_to_head_command)
app.command("leaderboard", epilog=examples.LEADERBOARD)(leaderboard_command)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(keys_app, name="keys")
app.add_typer(labels_app, name="labels")
app.add_typer(evals_app, name="evals")


def main() -> None:
    app()
