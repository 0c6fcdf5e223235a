"""``jurist serve``, ``worker``, ``eval``, ``run``, ``report``, ``usage``, ``config show``, ``keys``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from jurist.cli.compare import EXAMPLE as COMPARE_EXAMPLE
from jurist.cli.compare import compare_command
from jurist.cli.evals import evals_app
from jurist.cli.gate import EXAMPLE as GATE_EXAMPLE
from jurist.cli.gate import gate_command
from jurist.cli.keys import keys_app
from jurist.cli.labels import labels_app
from jurist.errors import ConfigError
from jurist.settings import Settings, load_settings

app = typer.Typer(help="Jurist: a self-hostable LLM-as-a-Judge service.", no_args_is_help=True)
config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(keys_app, name="keys")
app.add_typer(labels_app, name="labels")
app.add_typer(db_app, name="db")
app.add_typer(evals_app, name="evals")
app.command("gate", epilog=GATE_EXAMPLE)(gate_command)
app.command("compare", epilog=COMPARE_EXAMPLE)(compare_command)
err = Console(stderr=True)


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise _config_error(exc) from exc


def _config_error(exc: ConfigError) -> typer.Exit:
    err.print(f"[red]configuration error:[/red] {escape(exc.message)}")
    return typer.Exit(2)


def _print_notices(notices: Iterable[str]) -> None:
    for notice in notices:
        err.print(f"[yellow]notice:[/yellow] {escape(notice)}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8000).")] = None,
) -> None:
    """Start the API server."""
    import uvicorn

    from jurist.api.app import create_app, server_options
    from jurist.composition import build_services

    settings = _settings(host=host, port=port)
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        services = build_services(settings)
    except ConfigError as exc:
        raise _config_error(exc) from exc
    if services.notices:  # one line each: deprecated keys, the embedded model's limits
        err.print(Panel(Text("\n".join(services.notices)), title="notice", border_style="yellow"))
    base = f"http://{settings.host}:{settings.port}/v1"
    if services.new_key:
        err.print(
            Panel(
                f"API key (shown once, stored hashed in {settings.data_dir}/api_keys.json):\n\n"
                f"  {services.new_key}\n\nbase_url: {base}",
                title="Jurist is ready",
                border_style="green",
            )
        )
    elif not settings.api_keys:
        err.print(
            f"Using the API key(s) in {settings.data_dir}/api_keys.json (stored hashed; "
            "create another with `jurist keys create`)."
        )
    err.print(f"Models: {', '.join(sorted(services.chat.models))} at {base}")
    if settings.console:
        err.print(f"Console: http://{settings.host}:{settings.port}/ (sign in with an API key)")
    uvicorn.run(
        create_app(services),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.access_log,
        lifespan="on",
        **server_options(),
    )


@app.command()
def worker(
    processes: Annotated[int, typer.Option(help="Worker processes to run (each with its own loop).")] = 1,
) -> None:
    """Run batch workers without the HTTP server (share the server's database, e.g. PostgreSQL)."""
    import asyncio
    import multiprocessing
    import os
    import signal

    settings = _settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    if processes > 1:
        children = [multiprocessing.Process(target=_worker_main) for _ in range(processes)]
        for child in children:
            child.start()

        def forward(signum: int, frame: object) -> None:  # each child drains (see runner.worker)
            for child in children:
                if child.pid is not None and child.is_alive():
                    os.kill(child.pid, signum)

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, forward)
        for child in children:
            child.join()
        return

    async def run() -> None:
        from jurist.composition import build_services

        services = build_services(settings)
        _print_notices(services.notices)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await services.start(run_worker=False)
        runner = services.make_worker()
        err.print(f"worker {runner.owner} on {settings.resolved_database_url.split('@')[-1]}")
        try:
            await runner.run(stop)
        finally:
            await services.aclose()

    try:
        asyncio.run(run())
    except ConfigError as exc:
        raise _config_error(exc) from exc


def _worker_main() -> None:
    worker(processes=1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    import asyncio

    from jurist.store.database import open_database
    from jurist.store.migrations import upgrade

    settings = _settings()

    async def run() -> list[str]:
        db = open_database(settings.resolved_database_url)
        await db.open()
        try:
            return await upgrade(db)
        finally:
            await db.close()

    applied = asyncio.run(run())
    typer.echo("\n".join(f"applied {name}" for name in applied) or "schema is up to date")


@app.command("eval")
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
    """Meta-evaluate a judge against human labels: accuracy (both orders), agreement, baselines, CIs."""
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


@app.command("run")
def run_command(
    input_file: Annotated[
        Path, typer.Argument(help="A batch input file (.jsonl, the Batch API's line format).")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where successful lines go.")],
    errors: Annotated[
        Path | None, typer.Option(help="Where failed lines go (default: OUTPUT.errors.jsonl).")
    ] = None,
) -> None:
    """Judge a batch input file locally, no server needed; re-run to resume after Ctrl-C or a crash."""
    from jurist.cli.local_run import run_local

    settings = _settings()
    logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")
    errors = errors or output.with_name(output.name.removesuffix(".jsonl") + ".errors.jsonl")
    try:
        code = run_local(settings, input_file, output, errors)
    except ConfigError as exc:
        raise _config_error(exc) from exc
    raise typer.Exit(code)


@app.command("report")
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
    """Report on a batch: score distribution, win rates, Bradley–Terry leaderboard, judge health."""
    from jurist.cli.report import FORMATS, run_report

    if fmt not in FORMATS:
        err.print(f"[red]--format must be table, json or html, not {fmt!r}[/red]")
        raise typer.Exit(2)
    for path in (output, input_file, errors):
        if path is not None and not path.is_file():
            err.print(f"[red]no such file:[/red] {path}")
            raise typer.Exit(2)
    run_report(output, input_file, errors, FORMATS[fmt], out_file, max(1, bootstrap), seed)


@app.command("usage")
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
    """Usage and cost per tenant, day and model, from the configured database."""
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


@app.command("doctor")
def doctor_command(
    offline: Annotated[bool, typer.Option(help="Skip the 1-token call to each remote model.")] = False,
) -> None:
    """Print what a bug report needs (CPU flags, versions, llama.cpp's system info, the data dir, the
    database) and check every model: the embedded one is self-tested in its own process, a remote one
    answers a 1-token call. Exits 1 when something is broken."""
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


@config_app.command("show")
def config_show() -> None:
    """Print the effective configuration, secrets masked (notices of deprecated keys on stderr)."""
    from jurist.backends.registry import configured_models

    settings = _settings()
    try:
        configured = configured_models(settings)
    except ConfigError as exc:
        raise _config_error(exc) from exc
    _print_notices(configured.notices)
    typer.echo(json.dumps(settings.masked(configured.models), indent=2, default=str))


def main() -> None:
    app()
