"""``jurist labels import FILE --batch ID --key KEY``: human labels (a JSON list or JSONL of
{custom_id, label, criteria?, annotator?, note?}) posted to a batch through the same use case as
``POST /v1/batches/{id}/labels``, over the configured database; the calibrations they bear on are
refitted as the API does. The tenant is the one the API key
(``--key``, as sent in the Authorization header) belongs to."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from jurist.cli import examples
from jurist.errors import ConfigError, JuristError
from jurist.settings import load_settings
from jurist.store.database import open_database
from jurist.store.migrations import upgrade

labels_app = typer.Typer(help=examples.LABELS_HELP, epilog=examples.LABELS, no_args_is_help=True)
err = Console(stderr=True)


async def _import(raw: bytes, batch_id: str, key: str) -> tuple[int, list[str]]:
    from jurist.composition import build_label_service
    from jurist.service.trust.labels import parse_body

    settings = load_settings()
    db = open_database(settings.resolved_database_url)
    await db.open()
    try:
        await upgrade(db)
        service, calibrations, auth = build_label_service(settings, db)
        tenant = await auth.authenticate(f"Bearer {key}")
        posted = await service.post(tenant.id, batch_id, parse_body(raw))
        refitted = await calibrations.refit_after_labels(tenant.id, batch_id)
        return len(posted), [f"{c.model} ({c.mode}) v{c.version}: {c.id}" for c in refitted]
    finally:
        await db.close()


@labels_app.command("import", epilog=examples.LABELS_IMPORT)
def import_labels(
    file: Annotated[
        Path, typer.Argument(help="A JSON list or JSONL of labels.", exists=True, dir_okay=False)
    ],
    batch: Annotated[str, typer.Option("--batch", help="The batch the labels are about.")],
    key: Annotated[str, typer.Option("--key", help="An API key of the batch's tenant.")],
) -> None:
    """Import human labels for a batch's lines.

    FILE is a JSON list or JSONL of {custom_id, label, criteria?,
    annotator?, note?}, posted over the configured database as the API
    does; the tenant is the one --key belongs to. A label for the same line
    and annotator is replaced; the calibrations the labels bear on are
    refitted.
    """
    try:
        count, refitted = asyncio.run(_import(file.read_bytes(), batch, key))
    except (JuristError, ConfigError) as exc:
        param = getattr(exc, "param", None)
        where = f" ({param})" if param else ""
        err.print(f"[red]error{escape(where)}:[/red] {escape(exc.message)}")
        raise typer.Exit(1) from exc
    typer.echo(f"Imported {count} label(s) into batch {batch}.")
    for calibration in refitted:
        typer.echo(f"Calibration refitted: {calibration}")
