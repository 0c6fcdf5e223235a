"""``jurist leaderboard``: the runs of an eval ranked by the head-to-head runs between them. The
Bradley–Terry board ``GET /v1/evals/{id}/leaderboard`` answers (with style control by default: answer
length and markdown held fixed; ``--no-style-control`` fits the plain model), here (this data dir, as
``jurist compare`` reads it: the services without a worker) or on ``--server``, as a Markdown table with
the style coefficients, or its JSON with ``--json``. Exit 0, or 2 for bad usage or a refusal (an eval
with no judged head-to-head run yet, say), its message and ``param`` on stderr."""

from __future__ import annotations

import asyncio
from typing import Annotated

import orjson
import typer

from jurist.cli.head_to_head import run_command, target
from jurist.protocol.json_types import JSONObject


def _number(value: object, spec: str) -> str:
    return "n/a" if not isinstance(value, int | float) else format(value, spec)


def table(board: JSONObject) -> list[str]:
    """The board as a Markdown table (best first), with its battles and, under style control, the
    style coefficients."""
    lines = [
        "| rank | run | name | rating | 95% CI | battles | win rate |",
        "|---:|---|---|---:|---:|---:|---:|",
    ]
    data = board.get("data")
    for rank, row in enumerate(data if isinstance(data, list) else [], start=1):
        if not isinstance(row, dict):
            continue
        name = str(row.get("name") or "").replace("|", "\\|")
        lines.append(
            f"| {rank} | `{row.get('run_id')}` | {name} | {_number(row.get('rating'), '.1f')} | "
            f"[{_number(row.get('ci_low'), '.1f')}, {_number(row.get('ci_high'), '.1f')}] | "
            f"{row.get('battles')} | {_number(row.get('win_rate'), '.1%')} |"
        )
    runs = board.get("head_to_head_runs")
    count = len(runs) if isinstance(runs, list) else 0
    style = board.get("style_control")
    held = "style control: answer length and markdown held fixed." if style else "no style control."
    said = f"{board.get('battles')} battles from {count} head-to-head run{'' if count == 1 else 's'}"
    lines += ["", f"{said}; Elo scale (mean 1000); {held}"]
    coefficients = board.get("style")
    if style and isinstance(coefficients, list) and coefficients:
        lines += ["", "| style feature | coefficient (log-odds per SD) | 95% CI |", "|---|---:|---:|"]
        for c in coefficients:
            if isinstance(c, dict) and c.get("coefficient") is None:
                lines.append(f"| {c.get('feature')} | n/a (the same in every battle) | |")
            elif isinstance(c, dict):
                lines.append(
                    f"| {c.get('feature')} | {_number(c.get('coefficient'), '+.3f')} | "
                    f"[{_number(c.get('ci_low'), '+.3f')}, {_number(c.get('ci_high'), '+.3f')}] |"
                )
    return lines


async def _board(
    eval_id: str, style: bool, rounds: int, server: str | None, key: str | None, stop: asyncio.Event
) -> JSONObject:
    async with target(server, key, worker=False) as where:
        return await where.leaderboard(eval_id, style, rounds)


def leaderboard_command(
    eval_id: Annotated[str, typer.Option("--eval", help="The eval whose runs are ranked.")],
    style_control: Annotated[
        bool, typer.Option(help="Hold answer length and markdown fixed (Arena's style control).")
    ] = True,
    rounds: Annotated[int, typer.Option(min=1, max=2000, help="Bootstrap rounds for the CIs.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print the board's JSON.")] = False,
    server: Annotated[str | None, typer.Option(help="The server (URL); without it, this data dir.")] = None,
    key: Annotated[str | None, typer.Option(help="API key (needed with --server).")] = None,
) -> None:
    """Rank an eval's runs by their head-to-head runs (Bradley–Terry).

    Every head-to-head run of the eval (`jurist head-to-head`) adds its
    judged items as battles between its two runs; the board fits them with
    Bradley–Terry on the Elo scale, with bootstrap 95% CIs, holding answer
    length and markdown fixed (--no-style-control: the plain fit). Prints
    rank, run, name, rating, CI, battles and win rate, and the style
    coefficients, as a Markdown table (or JSON with --json); here (this data
    dir) or on --server, as GET /v1/evals/ID/leaderboard answers.
    """
    if server is not None and not key:
        typer.echo("--key is needed with --server.", err=True)
        raise typer.Exit(2)
    board = run_command(
        "jurist leaderboard", server, lambda stop: _board(eval_id, style_control, rounds, server, key, stop)
    )
    typer.echo(
        orjson.dumps(board, option=orjson.OPT_INDENT_2).decode() if as_json else "\n".join(table(board))
    )
