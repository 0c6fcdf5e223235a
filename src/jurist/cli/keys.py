"""``jurist keys create|list|revoke``: tenants' keys in the database, the same store as the admin API
(``/v1/admin/keys``). ``jurist keys create`` without ``--tenant`` adds a key to the key file instead,
as before (each such key its own tenant)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, TypedDict, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from jurist.cli import examples
from jurist.errors import ConfigError, JuristError
from jurist.ids import SystemClock
from jurist.protocol.admin import KeyCreate
from jurist.service.tenancy.key_admin import KeyAdmin, parse
from jurist.settings import Settings, load_settings
from jurist.store.database import open_database
from jurist.store.keys import KeyFile, SqlKeyStore
from jurist.store.migrations import upgrade
from jurist.store.tenants import SqlTenantStore

keys_app = typer.Typer(help=examples.KEYS_HELP, epilog=examples.KEYS, no_args_is_help=True)
err = Console(stderr=True)
_T = TypeVar("_T")
_OPTIONS = {"limits.max_batches": "--max-batches", "limits.max_queued_lines": "--max-queued-lines"}


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {escape(exc.message)}")
        raise typer.Exit(2) from exc


@asynccontextmanager
async def _admin(settings: Settings) -> AsyncIterator[KeyAdmin]:
    """The key admin over the configured database, migrated first (as ``jurist db upgrade`` does)."""
    db = open_database(settings.resolved_database_url)
    await db.open()
    try:
        await upgrade(db)
        yield KeyAdmin(SqlKeyStore(db), SqlTenantStore(db), SystemClock(), settings.default_weight)
    finally:
        await db.close()


def _run(settings: Settings, action: Callable[[KeyAdmin], Awaitable[_T]]) -> _T:
    async def run() -> _T:
        async with _admin(settings) as admin:
            return await action(admin)

    try:
        return asyncio.run(run())
    except JuristError as exc:
        raise _failed(exc) from exc


def _failed(exc: JuristError) -> typer.Exit:
    """Say what went wrong, naming the option at fault; exit 1 for an unknown key or tenant, else 2."""
    param = exc.param or ""
    option = _OPTIONS.get(param, "--" + param.removeprefix("limits.").replace("_", "-"))
    where = f"{option}: " if param and param != "id" else ""
    err.print(f"[red]{where}{escape(exc.message)}[/red]")
    return typer.Exit(1 if exc.status_code == 404 else 2)


def _when(stamp: int | None) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%S") if stamp else "-"


class KeyCreateBody(TypedDict, total=False):
    """The ``POST /v1/admin/keys`` body the options make (``KeyCreate`` checks it, as the API does)."""

    name: str
    tenant: str
    limits: dict[str, int]
    weight: float


@keys_app.command("create", epilog=examples.KEYS_CREATE)
def keys_create(
    tenant: Annotated[str | None, typer.Option(help="The tenant the key acts for (created if new).")] = None,
    name: Annotated[str, typer.Option(help="The key's name (no --tenant: a note in the key file).")] = "",
    label: Annotated[str, typer.Option(help="Without --tenant: a note stored with the key's digest.")] = "",
    rpm: Annotated[int | None, typer.Option(help="The tenant's chat completions per minute.")] = None,
    tpm: Annotated[int | None, typer.Option(help="The tenant's tokens per minute.")] = None,
    max_batches: Annotated[int | None, typer.Option(help="The tenant's batches in progress.")] = None,
    max_queued_lines: Annotated[int | None, typer.Option(help="The tenant's batch lines waiting.")] = None,
    quota_bytes: Annotated[int | None, typer.Option(help="The tenant's bytes of stored files.")] = None,
    weight: Annotated[float | None, typer.Option(help="The tenant's share of the batch runner.")] = None,
) -> None:
    """Create an API key and print it once (only its digest is stored).

    With --tenant, a key of that tenant in the database (the tenant is
    created if new; the limits and --weight are the tenant's). Without it,
    a key in the key file of the data dir, its own tenant. The key goes to
    stdout, the rest to stderr, so `KEY=$(jurist keys create ...)` works.
    """
    settings = _settings()
    limits = {"rpm": rpm, "tpm": tpm, "max_batches": max_batches, "max_queued_lines": max_queued_lines}
    limits["quota_bytes"] = quota_bytes
    given = {k: v for k, v in limits.items() if v is not None}
    if tenant is None:
        if given or weight is not None:
            err.print("[red]limits and --weight belong to a tenant: give --tenant too.[/red]")
            raise typer.Exit(2)
        if settings.api_keys:
            err.print("[yellow]JURIST_API_KEYS is set: the server ignores the key file while it is.[/]")
        typer.echo(KeyFile(settings.data_dir).create(label or name))
        return
    body: KeyCreateBody = {"name": name or label, "tenant": tenant}
    if given:
        body["limits"] = given
    if weight is not None:
        body["weight"] = weight
    try:
        request = parse(KeyCreate, body)
    except JuristError as exc:
        raise _failed(exc) from exc
    created = _run(settings, lambda admin: admin.create_key(request))
    err.print(f"created {created.id} for tenant {created.tenant} (the key is shown once):")
    typer.echo(created.key)


@keys_app.command("list", epilog=examples.KEYS_LIST)
def keys_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's keys.")] = None,
) -> None:
    """List the keys in the database, revoked ones too.

    A table of each key's id, name, tenant, and when it was created, last
    used and revoked. Keys from JURIST_API_KEYS and the key file are not
    listed.
    """
    listing = _run(_settings(), lambda admin: admin.list_keys(tenant))
    table = Table(title=f"API keys{f' of {tenant}' if tenant else ''}")
    for column in ("id", "name", "tenant", "created", "last used", "revoked"):
        table.add_column(column)
    for key in listing.data:
        table.add_row(
            key.id, escape(key.name), key.tenant, _when(key.created_at), _when(key.last_used_at),
            _when(key.revoked_at),
        )  # fmt: skip
    Console(width=200).print(table)


@keys_app.command("revoke", epilog=examples.KEYS_REVOKE)
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (key_…).")]) -> None:
    """Revoke a key by its id.

    The key stays listed, marked revoked; every server refuses it within
    JURIST_KEY_CACHE_SECONDS. An unknown id exits 1.
    """
    deleted = _run(_settings(), lambda admin: admin.revoke_key(key_id))
    typer.echo(f"revoked {deleted.id}")
