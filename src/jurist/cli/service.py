"""``jurist serve``, ``worker``, ``db upgrade`` and ``config show``: running the service and inspecting its
configuration. They are registered on the app in ``jurist.cli.main``, with their examples
(``jurist.cli.examples``)."""

from __future__ import annotations

import json
import logging
from typing import Annotated

import typer
from rich.panel import Panel
from rich.text import Text

from jurist.cli.common import config_error, err, print_notices, settings
from jurist.errors import ConfigError


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8000).")] = None,
) -> None:
    """Start the API server.

    Serves the OpenAI-compatible API at http://HOST:PORT/v1 (chat
    completions, files, batches, evals) and the web console at /, with a
    batch worker in the same process. The database is migrated first. On the
    first start with no key configured, an API key is made, printed once and
    stored hashed in the data dir. Settings come from JURIST_* variables and
    the TOML file JURIST_CONFIG names; --host and --port win over both.
    """
    import uvicorn

    from jurist.api.app import create_app, server_options
    from jurist.composition import build_services

    config = settings(host=host, port=port)
    logging.basicConfig(level=config.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        services = build_services(config)
    except ConfigError as exc:
        raise config_error(exc) from exc
    if services.notices:  # one line each: deprecated keys, the embedded model's limits
        err.print(Panel(Text("\n".join(services.notices)), title="notice", border_style="yellow"))
    base = f"http://{config.host}:{config.port}/v1"
    if services.new_key:
        err.print(
            Panel(
                f"API key (shown once, stored hashed in {config.data_dir}/api_keys.json):\n\n"
                f"  {services.new_key}\n\nbase_url: {base}",
                title="Jurist is ready",
                border_style="green",
            )
        )
    elif not config.api_keys:
        err.print(
            f"Using the API key(s) in {config.data_dir}/api_keys.json (stored hashed; "
            "create another with `jurist keys create`)."
        )
    err.print(f"Models: {', '.join(sorted(services.chat.models))} at {base}")
    if config.console:
        err.print(f"Console: http://{config.host}:{config.port}/ (sign in with an API key)")
    uvicorn.run(
        create_app(services),
        host=config.host,
        port=config.port,
        log_level=config.log_level,
        access_log=config.access_log,
        lifespan="on",
        **server_options(),
    )


def worker(
    processes: Annotated[int, typer.Option(help="Worker processes to run (each with its own loop).")] = 1,
) -> None:
    """Run batch workers without the HTTP server.

    Workers lease batch lines and eval runs from the database the servers
    share (PostgreSQL, JURIST_DATABASE_URL), so API servers and workers scale
    apart. Ctrl-C or SIGTERM drains: a worker claims nothing more, lets the
    lines in flight finish for a while, releases the rest and exits.
    """
    import asyncio
    import multiprocessing
    import os
    import signal

    config = settings()
    logging.basicConfig(level=config.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
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

        services = build_services(config)
        print_notices(services.notices)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await services.start(run_worker=False)
        runner = services.make_worker()
        err.print(f"worker {runner.owner} on {config.resolved_database_url.split('@')[-1]}")
        try:
            await runner.run(stop)
        finally:
            await services.aclose()

    try:
        asyncio.run(run())
    except ConfigError as exc:
        raise config_error(exc) from exc


def _worker_main() -> None:
    worker(processes=1)


def db_upgrade() -> None:
    """Apply pending schema migrations.

    Migrates the configured database (SQLite in the data dir, or
    JURIST_DATABASE_URL) and prints each migration applied. `jurist serve`
    and `jurist worker` migrate at start too; run this first when several
    nodes share one PostgreSQL database.
    """
    import asyncio

    from jurist.store.database import open_database
    from jurist.store.migrations import upgrade

    config = settings()

    async def run() -> list[str]:
        db = open_database(config.resolved_database_url)
        await db.open()
        try:
            return await upgrade(db)
        finally:
            await db.close()

    applied = asyncio.run(run())
    typer.echo("\n".join(f"applied {name}" for name in applied) or "schema is up to date")


def config_show() -> None:
    """Print the effective configuration, secrets masked.

    The settings as the server would see them (JURIST_* variables over the
    TOML file JURIST_CONFIG names, over the defaults) and every model with
    its backend, as JSON on stdout. Keys and passwords are masked; notices
    of deprecated keys go to stderr.
    """
    from jurist.backends.registry import configured_models

    config = settings()
    try:
        configured = configured_models(config)
    except ConfigError as exc:
        raise config_error(exc) from exc
    print_notices(configured.notices)
    typer.echo(json.dumps(config.masked(configured.models), indent=2, default=str))
