"""``jurist compare-batches BASE CANDIDATE``: is the candidate batch better than the base? The comparison
``GET /v1/batches/compare`` answers (two judge batches paired by custom_id), here (this data dir) or on
``--server``, as a table (or its JSON with ``--json``). Runs of an eval are compared by ``jurist compare``."""

from __future__ import annotations

import asyncio
from typing import Annotated

import orjson
import typer

from jurist.cli.gate import table
from jurist.errors import JuristError
from jurist.protocol.json_types import JSONObject
from jurist.settings import load_settings

EXAMPLE = """Examples:

Two batches of this data dir, the lines paired by custom_id:
  jurist compare-batches batch_main batch_pr
Single-mode judgments passing at 4, on a server, as JSON:
  jurist compare-batches batch_main batch_pr --threshold 4 --json \\
      --server https://jurist.example.com --key "$JURIST_KEY"
"""


async def _local(ids: dict[str, str], query: dict[str, str], key: str | None) -> JSONObject:
    from jurist.composition import build_services
    from jurist.service.trust.batch_compare import BatchSettings

    services = build_services(load_settings())
    await services.start(run_worker=False)
    try:
        tenant = "local" if key is None else (await services.auth.authenticate(f"Bearer {key}")).id
        threshold = float(query["threshold"]) if "threshold" in query else None
        settings = BatchSettings(criterion=query.get("criterion"), threshold=threshold)
        return await services.batch_compare.compare(tenant, ids, settings)
    finally:
        await services.aclose()


async def _remote(server: str, key: str, ids: dict[str, str], query: dict[str, str]) -> JSONObject:
    import aiohttp

    url = server.rstrip("/").removesuffix("/v1") + "/v1/batches/compare"
    headers = {"Authorization": f"Bearer {key}"}
    params = {**ids, **query}
    async with aiohttp.ClientSession(headers=headers) as session, session.get(url, params=params) as answer:
        body = orjson.loads(await answer.read())
        if answer.status != 200:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            raise JuristError(str(error.get("message")), param=error.get("param"), status_code=answer.status)
        return body  # type: ignore[no-any-return]


def lines(comparison: JSONObject) -> list[str]:
    """The pass-rate table (as ``jurist compare`` prints it), the overall score and the line counts."""
    out = table(comparison)
    score, items = comparison.get("overall_score"), comparison.get("items")
    if isinstance(score, dict):
        out.append(
            f"Overall score (rescaled to [0, 1]): {score.get('base'):.3f} → {score.get('candidate'):.3f}, "
            f"{score.get('decision')} (p = {score.get('p_value'):.3g})."
        )
    if isinstance(items, dict):
        out.append(f"{items.get('errored')} paired lines errored or unscored in either batch (left out).")
    return out


def compare_batches_command(
    base: Annotated[str, typer.Argument(help="The base batch.")],
    candidate: Annotated[str, typer.Argument(help="The candidate batch.")],
    criterion: Annotated[str | None, typer.Option(help="Only this criterion of the judgments.")] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Single mode: the score a line passes at (default: mid-range).")
    ] = None,
    server: Annotated[str | None, typer.Option(help="The server (URL); without it, this data dir.")] = None,
    key: Annotated[str | None, typer.Option(help="API key (needed with --server).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison's JSON.")] = False,
) -> None:
    """Compare two judge batches line by line, per criterion and overall.

    The comparison GET /v1/batches/compare answers, here (this data dir) or
    on --server: the lines of the two batches paired by custom_id, each pass
    rate's change with its confidence interval, a Holm-adjusted p-value and
    a decision, and the overall score's. A single-mode line passes at
    --threshold (default: the middle of its score range); a pairwise one
    when response_1 wins. Runs of an eval are compared by `jurist compare`.
    """
    if server is not None and not key:
        typer.echo("--key is needed with --server.", err=True)
        raise typer.Exit(2)
    ids = {"base": base, "candidate": candidate}
    query = {k: str(v) for k, v in (("criterion", criterion), ("threshold", threshold)) if v is not None}
    try:
        if server is not None and key:
            comparison = asyncio.run(_remote(server, key, ids, query))
        else:
            comparison = asyncio.run(_local(ids, query, key))
    except (JuristError, OSError) as exc:
        param = getattr(exc, "param", None)
        said = f"jurist compare-batches: {getattr(exc, 'message', exc)}"
        typer.echo(said + (f" (param: {param})" if param else ""), err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(orjson.dumps(comparison, option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo("\n".join(lines(comparison)))
