"""``jurist compare``: is the candidate run better than the base? The comparison
``GET /v1/evals/{id}/runs/compare`` answers, here (this data dir) or on ``--server``, as a table (or its
JSON with ``--json``)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import orjson
import typer

from jurist.cli.gate import fetch, table
from jurist.errors import JuristError

EXAMPLE = """Examples:

The candidate run against the base, per criterion and overall:
  jurist compare --eval eval_123 --base evalrun_main --candidate evalrun_pr
One criterion, as JSON, from a server:
  jurist compare --eval eval_123 --base evalrun_main --candidate evalrun_pr \\
      --criterion exact --json --server https://jurist.example.com \\
      --key "$JURIST_KEY"
"""


def compare_command(
    eval_id: Annotated[str, typer.Option("--eval", help="The eval whose runs are compared.")],
    base: Annotated[str, typer.Option(help="The base run.")],
    candidate: Annotated[str, typer.Option(help="The candidate run.")],
    criterion: Annotated[str | None, typer.Option(help="Only this testing criterion.")] = None,
    server: Annotated[str | None, typer.Option(help="The server (URL); without it, this data dir.")] = None,
    key: Annotated[str | None, typer.Option(help="API key (needed with --server).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison's JSON.")] = False,
) -> None:
    """Compare two runs of an eval, per criterion and overall.

    The paired comparison GET /v1/evals/ID/runs/compare answers, here (this
    data dir) or on --server: each pass rate's change with its confidence
    interval, a Holm-adjusted p-value and a decision, and how many rows
    improved or regressed; a Markdown table, or the JSON with --json.
    """
    if server is not None and not key:
        typer.echo("--key is needed with --server.", err=True)
        raise typer.Exit(2)
    try:
        comparison = asyncio.run(fetch(eval_id, base, candidate, criterion, server, key))
    except (JuristError, OSError) as exc:
        param = getattr(exc, "param", None)
        typer.echo(
            f"jurist compare: {getattr(exc, 'message', exc)}" + (f" (param: {param})" if param else ""),
            err=True,
        )
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(orjson.dumps(comparison, option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo("\n".join(table(comparison)))
