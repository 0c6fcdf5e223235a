"""``jurist head-to-head``: judge two runs of an eval against each other, answer by answer, and say
which is better. It starts a head-to-head run (``POST /v1/evals/{id}/runs/head_to_head``: a pairwise
judge over the two runs' answers, both orders), waits for it to end, and prints its figures (``GET
/v1/evals/{id}/runs/{run}/head_to_head``) as a Markdown table, or their JSON with ``--json``.

Where it runs: on ``--server`` (with ``--key``), through the API, whose workers judge the run; or, without
``--server``, on this data dir as ``jurist evals run`` does: the services of ``jurist serve`` in this
process with a worker of their own (``services.start(run_worker=True)``), which judges the run's rows on
the batch runner like any server's worker would. So the command needs no server, and what it starts is
an ordinary run of the data dir: with ``--no-wait`` (or after Ctrl-C) it waits there for the next
``jurist serve`` or ``jurist worker`` on that data dir, or ``jurist head-to-head --run RUN``, to finish it.
``--run`` reports a run started before instead (following it while it goes on): how to pick one up again,
and how to see its win rate anchored on the human labels of its lines posted since it ran.

Exit status: 0 when the run completed (the figures printed), 1 when it failed or was canceled, 2 for bad
usage or a request the API refused (its message and ``param`` on stderr, as ``jurist compare`` says
them), 130 when stopped before the run ended. ``Local`` and ``Remote`` (also ``jurist leaderboard``'s)
answer with the API's JSON objects wherever the work is done."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, TypeVar

import orjson
import typer

from jurist.cli.evals_targets import LocalTarget, RemoteTarget
from jurist.cli.gate import anchored_lines
from jurist.errors import ConfigError, JuristError, NotFound
from jurist.protocol.json_types import JSONObject
from jurist.service.evals.wire import run_object
from jurist.store.eval_records import EvalRunRecord

if TYPE_CHECKING:
    from jurist.composition import Services

T = TypeVar("T")
TERMINAL = ("completed", "failed", "canceled")
INTERRUPTED = 130


class Local(LocalTarget):
    """This data dir: the services in this process (with a worker when the command waits)."""

    def __init__(self, services: Services, tenant: str) -> None:
        super().__init__(services, tenant)
        self.experiments = services.experiments

    async def _object(self, run: EvalRunRecord) -> JSONObject:
        found = run.body.get("testing_criteria")  # a head-to-head run's own criterion
        criteria = (
            found
            if isinstance(found, list)
            else (await self.evals.get(self.tenant, run.eval_id)).body.get("testing_criteria")
        )
        counts, usage = await self.evals.store.counts(run.id), await self.evals.store.usage(run.id)
        return run_object(run, criteria if isinstance(criteria, list) else [], counts, usage, "")

    async def create_head_to_head(self, eval_id: str, body: JSONObject) -> JSONObject:
        return await self._object(await self.experiments.create_head_to_head(self.tenant, eval_id, body))

    async def figures(self, eval_id: str, run_id: str, alpha: float, margin: float) -> JSONObject:
        return await self.experiments.head_to_head(self.tenant, eval_id, run_id, alpha, margin)

    async def leaderboard(self, eval_id: str, style: bool, rounds: int) -> JSONObject:
        return await self.experiments.leaderboard(self.tenant, eval_id, style, rounds)


class Remote(RemoteTarget):
    """A running server's API."""

    async def create_head_to_head(self, eval_id: str, body: JSONObject) -> JSONObject:
        return await self._call("POST", f"/evals/{eval_id}/runs/head_to_head", body)

    async def figures(self, eval_id: str, run_id: str, alpha: float, margin: float) -> JSONObject:
        query = {"alpha": repr(alpha), "margin": repr(margin)}
        return await self._call("GET", f"/evals/{eval_id}/runs/{run_id}/head_to_head", params=query)

    async def leaderboard(self, eval_id: str, style: bool, rounds: int) -> JSONObject:
        query = {"style_control": "true" if style else "false", "rounds": str(rounds)}
        return await self._call("GET", f"/evals/{eval_id}/leaderboard", params=query)


Where = Local | Remote


@contextlib.asynccontextmanager
async def target(server: str | None, key: str | None, worker: bool) -> AsyncIterator[Where]:
    """The server's API (``server`` and ``key``), or this data dir's services (a worker when ``worker``;
    as ``key``'s tenant when given, else the local one)."""
    if server is not None:
        import aiohttp

        base = server.rstrip("/").removesuffix("/v1") + "/v1"
        headers = {"Authorization": f"Bearer {key}"}
        async with aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(total=300)
        ) as session:
            yield Remote(session, base, key or "")
        return
    from jurist.cli.common import print_notices
    from jurist.composition import build_services
    from jurist.settings import load_settings

    services = build_services(load_settings())
    print_notices(services.notices)
    await services.start(run_worker=worker)
    try:
        tenant = "local" if key is None else (await services.auth.authenticate(f"Bearer {key}")).id
        yield Local(services, tenant)
    finally:
        await services.aclose()


def run_command(name: str, server: str | None, work: Callable[[asyncio.Event], Awaitable[T]]) -> T:
    """Run ``work`` (given an event set by Ctrl-C or SIGTERM); a refusal or an unreachable server is
    exit 2 with its message and ``param``."""
    import aiohttp

    async def main() -> T:
        stop, loop = asyncio.Event(), asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await work(stop)

    try:
        return asyncio.run(main())
    except ConfigError as exc:
        typer.echo(f"{name}: configuration error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    except JuristError as exc:
        typer.echo(f"{name}: {exc.message}" + (f" (param: {exc.param})" if exc.param else ""), err=True)
        raise typer.Exit(2) from exc
    except (OSError, aiohttp.ClientError) as exc:
        typer.echo(f"{name}: could not reach {server}: {exc}" if server else f"{name}: {exc}", err=True)
        raise typer.Exit(2) from exc


def _rate(figure: object) -> str:
    if not isinstance(figure, dict):
        return "n/a"
    low, estimate, high = (100 * float(figure[k]) for k in ("ci_low", "estimate", "ci_high"))
    return f"{estimate:.1f}% [{low:.1f}%, {high:.1f}%]"


def table(figures: JSONObject) -> list[str]:
    """The figures of a head-to-head run as a Markdown table, with its item counts and, when lines of
    the run are labelled, the win rate anchored on the labels."""
    level = f"{100 * (1 - float(figures['alpha'])):g}% CI"  # type: ignore[arg-type]
    consistency = figures.get("position_consistency")
    needed = figures.get("items_needed")
    items = figures.get("items")
    items = items if isinstance(items, dict) else {}
    lines = [
        f"Head to head: candidate `{figures.get('candidate')}` vs base `{figures.get('base')}`, "
        f"judged by `{figures.get('model')}` in both orders.",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| candidate wins | {figures.get('candidate_wins')} |",
        f"| ties | {figures.get('ties')} |",
        f"| base wins | {figures.get('base_wins')} |",
        f"| win rate [{level}] | {_rate(figures.get('win_rate'))} |",
        f"| tie rate [{level}] | {_rate(figures.get('tie_rate'))} |",
        f"| position consistency [{level}] | {_rate(consistency)} |",
        f"| p (sign test) | {float(figures['p_value']):.3g} |",  # type: ignore[arg-type]
        f"| decision (margin {100 * float(figures['margin']):g} pts) | {figures.get('decision')} |",  # type: ignore[arg-type]
        f"| items needed | {'-' if needed is None else needed} |",
        "",
        f"{items.get('judged')} items judged, {items.get('errored')} errored, of {items.get('paired')} "
        f"paired; {items.get('only_in_base')} in the base only, {items.get('only_in_candidate')} in the "
        f"candidate only. Run `{figures.get('run_id')}` ({figures.get('status')}).",
    ]
    anchored = figures.get("anchored")
    if isinstance(anchored, dict) and isinstance(anchored.get("win_rate"), dict):
        win_rate = {"labels": anchored.get("labels"), "pass_rate": anchored["win_rate"]}
        shaped: JSONObject = {"criterion": "head_to_head", "candidate": win_rate}
        lines += [
            line.replace("pass rate, candidate", "win rate") for line in anchored_lines({"anchored": shaped})
        ]
    return lines


async def _follow(where: Where, run: JSONObject, stop: asyncio.Event) -> JSONObject:
    """Poll the run until it ends (or ``stop``), a line on stderr each time more rows are judged."""
    eval_id, run_id = str(run["eval_id"]), str(run["id"])
    pause, shown = 0.1, -1
    while True:
        counts = run.get("result_counts")
        done = counts.get("total") if isinstance(counts, dict) else None
        if isinstance(done, int) and done != shown and run.get("status") not in TERMINAL:
            typer.echo(f"{done} items judged…", err=True)
            shown = done
        if run.get("status") in TERMINAL or stop.is_set():
            return run
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
        pause = min(2.0, pause * 1.5)
        found = await where.get_run(eval_id, run_id)
        if found is None:
            raise JuristError(f"run {run_id} was deleted while it ran", param="run_id", status_code=404)
        run = found


@dataclass(frozen=True)
class Job:
    """What the command was asked: a new run (``body``) or an existing one (``run_id``), and how to say it."""

    eval_id: str
    body: JSONObject | None
    run_id: str | None
    alpha: float
    margin: float
    wait: bool
    as_json: bool


async def head_to_head(job: Job, server: str | None, key: str | None, stop: asyncio.Event) -> int:
    """Start the run (or find it), follow it to its end, print its figures; the exit status."""
    eval_id = job.eval_id
    async with target(server, key, worker=job.wait) as where:
        if job.body is not None:
            run = await where.create_head_to_head(eval_id, job.body)
            typer.echo(f"started head-to-head run {run['id']} of eval {eval_id}", err=True)
        else:
            found = await where.get_run(eval_id, str(job.run_id))
            if found is None:
                raise NotFound(f"No eval run found with id '{job.run_id}' in this eval.", param="run")
            run = found
        run_id = str(run["id"])
        if not job.wait:
            later = "on the server" if server else "in this data dir, for `jurist serve` or `jurist worker`"
            typer.echo(f"not waiting: the run goes on {later}", err=True)
            typer.echo(orjson.dumps(run, option=orjson.OPT_INDENT_2).decode() if job.as_json else run_id)
            return 0
        run = await _follow(where, run, stop)
        status = run.get("status")
        if status not in TERMINAL:
            left = "on the server" if server else "in this data dir"
            typer.echo(f"stopped following run {run_id}: it goes on {left}; follow it again with "
                       f"`jurist head-to-head --eval {eval_id} --run {run_id}`", err=True)  # fmt: skip
            return INTERRUPTED
        if status != "completed":
            error = run.get("error")
            said = error.get("message") if isinstance(error, dict) else None
            typer.echo(
                f"jurist head-to-head: run {run_id} {status}" + (f": {said}" if said else ""), err=True
            )
            return 1
        figures = await where.figures(eval_id, run_id, job.alpha, job.margin)
    typer.echo(
        orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode()
        if job.as_json
        else "\n".join(table(figures))
    )
    return 0


def _usage(message: str) -> typer.Exit:
    typer.echo(f"jurist head-to-head: {message}", err=True)
    return typer.Exit(2)


def head_to_head_command(
    eval_id: Annotated[str, typer.Option("--eval", help="The eval whose runs meet.")],
    base: Annotated[str | None, typer.Option(help="The base run.")] = None,
    candidate: Annotated[str | None, typer.Option(help="The candidate run.")] = None,
    model: Annotated[str | None, typer.Option(help="The pairwise judge (a configured model).")] = None,
    question: Annotated[
        str | None,
        typer.Option(
            help="Template of each row's question, e.g. '{{item.question}}' (default: the "
            "messages a completions run sampled with)."
        ),
    ] = None,
    answer: Annotated[
        str | None, typer.Option(help="Template of each run's answer (default: '{{sample.output_text}}').")
    ] = None,
    name: Annotated[str | None, typer.Option(help="The run's name (default: 'CANDIDATE vs BASE').")] = None,
    criteria: Annotated[str | None, typer.Option(help="Judging criteria text for the judge.")] = None,
    scene: Annotated[str | None, typer.Option(help="A scene description for the judge.")] = None,
    run: Annotated[
        str | None, typer.Option(help="Report this head-to-head run (following it) instead of starting one.")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Significance level; CIs are at 1 - alpha.")] = 0.05,
    margin: Annotated[float, typer.Option(help="Equivalence margin around a 50% win rate.")] = 0.02,
    wait: Annotated[bool, typer.Option(help="Wait for the run to end and print its figures.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures' JSON.")] = False,
    server: Annotated[str | None, typer.Option(help="The server (URL); without it, this data dir.")] = None,
    key: Annotated[str | None, typer.Option(help="API key (needed with --server).")] = None,
) -> None:
    """Judge two runs of an eval head to head, answer by answer.

    Starts a head-to-head run (POST /v1/evals/ID/runs/head_to_head): a
    pairwise judge over both runs' answers to each item, in both orders;
    waits for it (--no-wait: print the run's id and return) and prints its
    figures: wins, ties and losses, the win rate with its CI, tie rate,
    position consistency, a sign test's p, a decision and the items a clear
    answer would need. --run reports a run started before, with its win
    rate anchored on human labels of its lines when there are some. On
    --server, or here (this data dir, judged by a worker in this process).
    Exit status: 0 completed, 1 failed or canceled, 2 bad usage or refused.
    """
    from jurist.service.validation import check_comparison

    if server is not None and not key:
        raise _usage("--key is needed with --server.")
    given = {"question": question, "answer": answer, "name": name, "criteria": criteria, "scene": scene}
    new = {"base": base, "candidate": candidate, "model": model}
    if run is not None and any(v is not None for v in (*new.values(), *given.values())):
        raise _usage("--run reports an existing run: it takes none of the options that start one.")
    if run is None and None in new.values():
        raise _usage("--base, --candidate and --model are needed (or --run, to report a run).")
    try:
        check_comparison(margin, alpha)
    except JuristError as exc:
        raise _usage(f"{exc.message} (param: {exc.param})") from exc
    body: JSONObject | None = None
    if run is None:
        body = {k: v for k, v in {**new, **given}.items() if v is not None}
    job = Job(eval_id, body, run, alpha, margin, wait, as_json)
    raise typer.Exit(
        run_command("jurist head-to-head", server, lambda stop: head_to_head(job, server, key, stop))
    )
