"""``jurist gate``: fail a CI build only when a regression is established, not on judge noise.

It compares two runs of one eval (``GET /v1/evals/{id}/runs/compare``, here or on ``--server``) and gates
on the overall pass rate, or on one criterion's (``--criterion``): exit 0 when no regression beyond
``--max-regression`` is established (the regression's lower confidence bound is at most the margin), 1
when it is, 2 for bad usage. ``--require-noninferiority`` asks more: pass only when the regression's upper
bound is below the margin. It prints a Markdown summary (for a pull request comment) and writes JUnit XML
(``--junit FILE``: one test case per criterion and one for the gate)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

import orjson
import typer

from jurist.errors import JuristError
from jurist.evaluation.paired import GateOutcome, Paired, gate
from jurist.protocol.json_types import JSONObject
from jurist.settings import load_settings

EXAMPLE = """Example:

A GitHub Actions step, after both runs completed:
  jurist gate --eval eval_123 --base evalrun_main --candidate evalrun_pr \\
      --max-regression 0.05 --server https://jurist.example.com \\
      --key "$JURIST_KEY" --junit gate.xml >> "$GITHUB_STEP_SUMMARY"
"""


def _paired(found: object) -> Paired:
    if not isinstance(found, dict):
        raise JuristError("the comparison holds no statistics")
    return Paired(**found)


def _criteria(comparison: JSONObject) -> list[JSONObject]:
    found = comparison.get("criteria")
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []


def chosen(comparison: JSONObject, criterion: str | None) -> tuple[str, Paired]:
    """What the gate is on: the criterion's pass rate, or the overall one."""
    if criterion is None:
        return "overall", _paired(comparison.get("overall"))
    for entry in _criteria(comparison):
        if entry.get("name") == criterion:
            return criterion, _paired(entry.get("pass"))
    raise JuristError(f"criterion {criterion!r} is not in the comparison", param="criterion")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:+.1f}".replace("+-", "-")


def table(comparison: JSONObject) -> list[str]:
    """The comparison as a Markdown table, with its row counts."""
    lines = [
        "| criterion | base | candidate | Δ (pts) | CI (pts) | p (Holm) | decision |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    rows = [("overall", comparison.get("overall"))]
    rows += [(str(c.get("name")), c.get("pass")) for c in _criteria(comparison)]
    for name, stats in rows:
        p = _paired(stats)
        lines.append(
            f"| {name} | {100 * p.base:.1f}% | {100 * p.candidate:.1f}% | {_pct(p.delta)} | "
            f"[{_pct(p.ci_low)}, {_pct(p.ci_high)}] | {p.p_adjusted:.3g} | {p.decision} |"
        )
    items = comparison.get("items") or {}
    if isinstance(items, dict):
        lines += ["", f"{items.get('paired')} rows paired: {items.get('improved')} improved, "
                  f"{items.get('regressed')} regressed, {items.get('same')} the same; "
                  f"{items.get('only_in_base')} in the base only, {items.get('only_in_candidate')} in the "
                  "candidate only."]  # fmt: skip
    return lines + anchored_lines(comparison)


def anchored_lines(comparison: JSONObject) -> list[str]:
    """The pass rates anchored on human labels (PPI++) beside the judge's own, when rows are labelled."""
    found = comparison.get("anchored")
    if not isinstance(found, dict):
        return []
    lines = ["", f"Anchored on human labels of `{found.get('criterion')}` (PPI++):", "",
             "| | labels | judge only | anchored on labels | CI | effective labels |",
             "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    shown = False
    for name in ("base", "candidate", "delta"):
        part = found.get(name)
        figure = part.get("pass_rate") if isinstance(part, dict) else None
        if not isinstance(part, dict) or not isinstance(figure, dict):
            continue
        judge, ppi = figure.get("judge_only"), figure.get("ppi")
        if not isinstance(judge, dict) or not isinstance(ppi, dict):
            continue
        shown = True
        values = [float(x) for x in (judge["estimate"], ppi["estimate"], ppi["ci_low"], ppi["ci_high"])]  # type: ignore[arg-type]
        text = [_pct(v) if name == "delta" else f"{100 * v:.1f}%" for v in values]
        lines.append(
            f"| pass rate, {name} | {part.get('labels')} | {text[0]} | {text[1]} | [{text[2]}, {text[3]}] | "
            f"{float(ppi['effective_labels']):.0f} |"  # type: ignore[arg-type]
        )
    return lines if shown else []


def markdown(comparison: JSONObject, on: str, outcome: GateOutcome) -> str:
    """The summary a pull request comment shows."""
    verdict = "✅ passed" if outcome.passed else "❌ failed"
    head = [
        f"### Jurist gate: {verdict}",
        "",
        f"{outcome.reason}",
        "",
        f"Base `{comparison.get('base')}` → candidate `{comparison.get('candidate')}`, gated on **{on}**.",
        "",
    ]
    return "\n".join(head + table(comparison)) + "\n"


def junit(comparison: JSONObject, on: str, outcome: GateOutcome) -> str:
    cases = []
    for entry in _criteria(comparison):
        p = _paired(entry.get("pass"))
        name, said = quoteattr(str(entry.get("name"))), xml_escape(f"{p.decision}: delta {p.delta:+.4f}")
        cases.append(
            f'  <testcase classname="jurist.gate" name={name}><system-out>{said}</system-out></testcase>'
        )
    failure = "" if outcome.passed else f"<failure message={quoteattr(outcome.reason)}/>"
    cases.append(
        f'  <testcase classname="jurist.gate" name={quoteattr(f"gate on {on}")}>{failure}</testcase>'
    )
    failures = 0 if outcome.passed else 1
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<testsuite name="jurist gate" tests="{len(cases)}" failures="{failures}">\n'
        + "\n".join(cases)
        + "\n</testsuite>\n"
    )


async def _local(
    eval_id: str, base: str, candidate: str, criterion: str | None, key: str | None
) -> JSONObject:
    from jurist.composition import build_services
    from jurist.service.evals.compare import Settings

    services = build_services(load_settings())
    await services.start(run_worker=False)
    try:
        tenant = "local" if key is None else (await services.auth.authenticate(f"Bearer {key}")).id
        ids = {"base": base, "candidate": candidate}
        return await services.evals.compare_runs(tenant, eval_id, ids, Settings(criterion=criterion))
    finally:
        await services.aclose()


async def _remote(
    server: str, key: str, eval_id: str, base: str, candidate: str, criterion: str | None
) -> JSONObject:
    import aiohttp

    url = server.rstrip("/").removesuffix("/v1") + f"/v1/evals/{eval_id}/runs/compare"
    query = {"base": base, "candidate": candidate, **({"criterion": criterion} if criterion else {})}
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(headers=headers) as session, session.get(url, params=query) as answer:
        body = orjson.loads(await answer.read())
        if answer.status != 200:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            raise JuristError(str(error.get("message")), param=error.get("param"), status_code=answer.status)
        return body  # type: ignore[no-any-return]


async def fetch(
    eval_id: str, base: str, candidate: str, criterion: str | None, server: str | None, key: str | None
) -> JSONObject:
    """The comparison, from ``server`` (with ``key``) or from this data dir."""
    if server is not None and key:
        return await _remote(server, key, eval_id, base, candidate, criterion)
    return await _local(eval_id, base, candidate, criterion, key)


def gate_command(
    eval_id: Annotated[str, typer.Option("--eval", help="The eval whose runs are compared.")],
    base: Annotated[str, typer.Option(help="The base run (say, the main branch's).")],
    candidate: Annotated[str, typer.Option(help="The candidate run (say, the pull request's).")],
    max_regression: Annotated[
        float, typer.Option(help="The largest regression tolerated, as a rate.")
    ] = 0.05,
    criterion: Annotated[
        str | None, typer.Option(help="Gate on this criterion's pass rate, not overall.")
    ] = None,
    require_noninferiority: Annotated[
        bool, typer.Option(help="Pass only when the regression's upper bound is below the margin.")
    ] = False,
    server: Annotated[str | None, typer.Option(help="The server (URL); without it, this data dir.")] = None,
    key: Annotated[str | None, typer.Option(help="API key (needed with --server).")] = None,
    junit_file: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML here.")] = None,
) -> None:
    """Gate a CI build: fail only on an established regression.

    Compares two runs of an eval (as `jurist compare` does) and gates on the
    overall pass rate, or on one criterion's (--criterion): exit 0 when no
    regression beyond --max-regression is established, 1 when one is, 2 for
    bad usage. --require-noninferiority passes only when the regression's
    upper bound is below the margin. Prints a Markdown summary (for a pull
    request comment); --junit also writes JUnit XML.
    """
    if not 0 <= max_regression < 1:
        typer.echo("--max-regression must be in [0, 1).", err=True)
        raise typer.Exit(2)
    if server is not None and not key:
        typer.echo("--key is needed with --server.", err=True)
        raise typer.Exit(2)
    try:
        comparison = asyncio.run(fetch(eval_id, base, candidate, criterion, server, key))
        on, stats = chosen(comparison, criterion)
    except (JuristError, OSError) as exc:
        message = getattr(exc, "message", str(exc))
        param = getattr(exc, "param", None)
        typer.echo(f"jurist gate: {message}" + (f" (param: {param})" if param else ""), err=True)
        raise typer.Exit(2) from exc
    outcome = gate(stats, max_regression, noninferiority=require_noninferiority)
    typer.echo(markdown(comparison, on, outcome))
    if junit_file is not None:
        junit_file.write_text(junit(comparison, on, outcome), encoding="utf-8")
    raise typer.Exit(0 if outcome.passed else 1)
