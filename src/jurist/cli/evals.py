"""``jurist evals run EVAL.yaml``: an eval and its run in one YAML file, graded locally like ``jurist run``
(the services of ``jurist serve`` with a worker in this process; a progress bar; resumable) or on a
running server (``--server``) through the Evals API.

EVAL.yaml holds ``eval:``, the body of ``POST /v1/evals``, and ``run:``, the body of ``POST
/v1/evals/{eval_id}/runs``. A run source ``{path: rows.jsonl}`` (Jurist's shorthand; relative to the
YAML) is uploaded as a file of purpose ``evals`` and sent as ``{type: file_id, id: …}``.

Resuming: a state file (``.EVAL.yaml.jurist.json`` beside the YAML) maps, per target (this data dir's
database and tenant, or the server and key), a digest of the ``eval:`` section to the eval made from it
and a digest of the ``run:`` section (and the rows file) to the run. Run the same command again: an
unfinished run is followed to its end, not started over; a completed one is reported again (``--new``
starts another); a failed, canceled or deleted one is started again. A changed ``run:`` section is a new
run of the same eval; a changed ``eval:`` section, a new eval."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jurist.cli import examples
from jurist.errors import ConfigError, JuristError
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.settings import load_settings

if TYPE_CHECKING:  # the targets import the services: only once a command runs
    from jurist.cli.evals_targets import Target

evals_app = typer.Typer(help=examples.EVALS_HELP, epilog=examples.EVALS, no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)  # messages whole, not cut at 80 columns
TERMINAL = ("completed", "failed", "canceled")
INTERRUPTED = 130


def digest(*parts: bytes) -> str:
    """SHA-256 over the parts, each prefixed by its length (no two lists of parts collide)."""
    sha = hashlib.sha256()
    for part in parts:
        sha.update(len(part).to_bytes(8, "big") + part)
    return sha.hexdigest()


class Usage(Exception):
    """Bad usage (bad YAML, a missing file or option): exit 2 with this message."""


@dataclass(frozen=True)
class Spec:
    eval_body: JSONObject
    run_body: JSONObject
    rows_file: Path | None  # the run source's ``path``, uploaded when the run is created
    rows: int | None  # rows to grade when known: the progress bar's total
    rows_digest: str

    def keys(self, target: str) -> tuple[str, str]:
        """The state keys of the eval and of the run on ``target``."""
        ekey = digest(target.encode(), orjson.dumps(self.eval_body, option=orjson.OPT_SORT_KEYS))
        body = orjson.dumps(self.run_body, option=orjson.OPT_SORT_KEYS)
        return ekey, digest(ekey.encode(), body, self.rows_digest.encode())


def _source(run: JSONObject) -> JSONObject | None:
    data_source = run.get("data_source")
    source = data_source.get("source") if isinstance(data_source, dict) else None
    return source if isinstance(source, dict) else None


def load_spec(path: Path) -> Spec:
    import yaml

    try:
        with path.open(encoding="utf-8") as fh:  # so YAML errors name the file
            doc = yaml.safe_load(fh)
        doc = orjson.loads(orjson.dumps(doc))  # dates and the like as JSON carries them
    except OSError as exc:
        raise Usage(f"cannot read {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise Usage(f"{path.name} is not valid YAML: {exc}") from exc
    except orjson.JSONEncodeError as exc:
        raise Usage(f"{path} holds values JSON cannot carry: {exc}") from exc
    if not isinstance(doc, dict):
        raise Usage(f"{path} must be a mapping with two keys, eval: and run:")
    unknown = sorted(set(doc) - {"eval", "run"})
    if unknown:
        raise Usage(f"{path}: unknown top-level key {unknown[0]!r} (expected eval: and run:)")
    for name in ("eval", "run"):
        if not isinstance(doc.get(name), dict):
            raise Usage(f"{path}: {name}: must be a mapping (the body of the {name}'s create request)")
    run: JSONObject = doc["run"]
    source, rows_file, rows, rows_digest = _source(run), None, None, ""
    if source is not None and "path" in source:
        if set(source) - {"path", "type"} or source.get("type", "file_path") != "file_path":
            raise Usage(f"{path}: run.data_source.source with a path takes no other keys")
        rows_file = path.parent / str(source["path"])
        try:
            data = rows_file.read_bytes()
        except OSError as exc:
            raise Usage(f"run.data_source.source.path: cannot read {rows_file}: {exc.strerror}") from exc
        rows, rows_digest = sum(1 for line in data.splitlines() if line.strip()), digest(data)
    elif source is not None and isinstance(source.get("content"), list):
        rows = len(cast(list[JsonValue], source["content"]))
    return Spec(doc["eval"], run, rows_file, rows, rows_digest)


class State:
    """The eval and run ids this YAML made, per state key (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            data = {}
        data = data if isinstance(data, dict) else {}
        self.ids: dict[str, str] = {k: v for k, v in data.items() if isinstance(v, str)}

    def get(self, key: str) -> str | None:
        return self.ids.get(key)

    def put(self, key: str, value: str) -> None:
        self.ids[key] = value
        part = self.path.with_name(self.path.name + ".part")
        try:
            part.write_bytes(orjson.dumps(self.ids, option=orjson.OPT_INDENT_2))
            part.replace(self.path)
        except OSError as exc:
            err.print(f"[yellow]cannot keep the resume state in {escape(str(self.path))}:[/] {exc.strerror}")


def _counts(run: JSONObject) -> dict[str, int]:
    counts = run.get("result_counts")
    counts = counts if isinstance(counts, dict) else {}
    return {k: int(v) if isinstance(v, int) else 0 for k, v in counts.items()}


async def _start(target: Target, spec: Spec, state: State, ekey: str, rkey: str) -> JSONObject:
    """A new run of the YAML's eval (made first when this target has none, or it is gone)."""
    body = dict(spec.run_body)
    if spec.rows_file is not None:
        source: JSONObject = {"type": "file_id", "id": await target.upload(spec.rows_file)}
        body["data_source"] = {**cast(JSONObject, body["data_source"]), "source": source}
    eval_id = state.get(ekey)
    for fresh in (False, True):
        if eval_id is None or fresh:
            eval_id = await target.create_eval(spec.eval_body)
            state.put(ekey, eval_id)
        try:
            run = await target.create_run(eval_id, body)
            break
        except JuristError as exc:  # the recorded eval was deleted: make it again
            if fresh or exc.status_code != 404 or exc.param != "eval_id":
                raise
    state.put(rkey, str(run["id"]))
    err.print(f"started run {run['id']} of eval {eval_id}")
    return run


async def _follow(target: Target, run: JSONObject, total: int | None, stop: asyncio.Event) -> JSONObject:
    """Poll the run, a progress bar of graded rows, until it ends or ``stop``."""
    eval_id, run_id = str(run["eval_id"]), str(run["id"])
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("[green]{task.fields[passed]} pass[/] [red]{task.fields[failed]} fail[/] "
                   "[yellow]{task.fields[errored]} error[/]"),
        TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("grading", total=total, passed=0, failed=0, errored=0)
        while True:
            counts = _counts(run)
            bar.update(task, completed=counts.get("total", 0), passed=counts.get("passed", 0),
                       failed=counts.get("failed", 0), errored=counts.get("errored", 0))  # fmt: skip
            if run.get("status") in TERMINAL or stop.is_set():
                return run
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)
            found = await target.get_run(eval_id, run_id)
            if found is None:
                raise JuristError(f"run {run_id} was deleted while it ran")
            run = found


def print_summary(run: JSONObject, console: Console) -> None:
    """Pass rate overall (errored rows count as not passed) and per criterion; usage per model."""
    counts = _counts(run)
    total, passed = counts.get("total", 0), counts.get("passed", 0)
    table = Table(title=f"{escape(str(run.get('name')))}: {run.get('status')}")
    for column in ("testing criterion", "passed", "failed", "pass rate"):
        table.add_column(column, justify="left" if column == "testing criterion" else "right")
    results = run.get("per_testing_criteria_results")
    for result in results if isinstance(results, list) else []:
        if isinstance(result, dict):
            ok, bad = int(cast(int, result.get("passed") or 0)), int(cast(int, result.get("failed") or 0))
            name = str(result.get("testing_criteria") or "").rsplit("-", 5)[0]
            table.add_row(
                escape(name), str(ok), str(bad), f"{100 * ok / (ok + bad):.1f}%" if ok + bad else "-"
            )
    table.add_row("[bold]all rows[/]", str(passed), str(counts.get("failed", 0)),
                  f"{100 * passed / total:.1f}%" if total else "-")  # fmt: skip
    console.print(table)
    rate = f"{100 * passed / total:.1f}%" if total else "-"
    console.print(
        f"{total} rows graded: {passed} passed, {counts.get('failed', 0)} failed, "
        f"{counts.get('errored', 0)} errored; pass rate {rate}"
    )
    usage = run.get("per_model_usage")
    if isinstance(usage, list) and usage:
        used = Table(title="usage")
        for column in ("model", "calls", "prompt tokens", "completion tokens", "cached tokens"):
            used.add_column(column, justify="left" if column == "model" else "right")
        for u in usage:
            if isinstance(u, dict):
                keys = ("invocation_count", "prompt_tokens", "completion_tokens", "cached_tokens")
                used.add_row(escape(str(u.get("model_name"))), *(str(u.get(k, 0)) for k in keys))
        console.print(used)
    console.print(f"run {run.get('id')} of eval {run.get('eval_id')}")
    error = run.get("error")
    if isinstance(error, dict) and error.get("message"):
        console.print(f"[red]error:[/red] {escape(str(error['message']))}")


@dataclass(frozen=True)
class Options:
    out: Path | None
    new: bool
    cancel: bool


async def drive(target: Target, spec: Spec, state: State, opts: Options, stop: asyncio.Event) -> int:
    """Start, resume or report this YAML's run on ``target``; the exit status."""
    ekey, rkey = spec.keys(target.name)
    eval_id, run_id = state.get(ekey), state.get(rkey)
    run = await target.get_run(eval_id, run_id) if eval_id and run_id else None
    status = run.get("status") if run else None
    if opts.cancel:
        if run is None or eval_id is None or run_id is None:
            raise Usage("this file has no run to cancel on this target")
        run = await target.cancel_run(eval_id, run_id)
        err.print(f"run {run_id}: {run.get('status')}")
        return 0
    if run is None or status in ("failed", "canceled") or (status == "completed" and opts.new):
        run = await _start(target, spec, state, ekey, rkey)
    elif status == "completed":
        err.print(f"run {run_id} of this file completed already (--new starts another)")
    else:
        err.print(f"resuming run {run_id} of eval {eval_id} ({_counts(run).get('total', 0)} rows graded)")
    run = await _follow(target, run, spec.rows, stop)
    if run.get("status") not in TERMINAL:
        err.print(f"[yellow]stopped following run {run['id']}:[/yellow] {target.left}")
        return INTERRUPTED
    print_summary(run, Console(width=max(100, Console().width)))
    if opts.out is not None:
        with opts.out.open("wb") as fh:
            async for item in target.items(str(run["eval_id"]), str(run["id"])):
                fh.write(orjson.dumps(item) + b"\n")
        err.print(f"output items → {opts.out}")
    return 0 if run.get("status") == "completed" else 1


async def _with_stop(work: Callable[[asyncio.Event], Awaitable[int]]) -> int:
    stop, loop = asyncio.Event(), asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return await work(stop)


async def _local(key: str | None, spec: Spec, state: State, opts: Options, stop: asyncio.Event) -> int:
    from jurist.cli.evals_targets import LocalTarget
    from jurist.composition import build_services

    services = build_services(load_settings())
    for notice in services.notices:
        err.print(f"[yellow]notice:[/yellow] {escape(notice)}")
    await services.start(run_worker=not opts.cancel)
    try:
        tenant = "local" if key is None else (await services.auth.authenticate(f"Bearer {key}")).id
        return await drive(LocalTarget(services, tenant), spec, state, opts, stop)
    finally:
        if stop.is_set():
            err.print("stopping: the rows being graded finish first…")
        await services.aclose()


async def _remote(server: str, key: str, spec: Spec, state: State, opts: Options, stop: asyncio.Event) -> int:
    import aiohttp

    from jurist.cli.evals_targets import RemoteTarget

    base = server.rstrip("/").removesuffix("/v1") + "/v1"
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=300)) as session:
        return await drive(RemoteTarget(session, base, key), spec, state, opts, stop)


EPILOG = """Example:

Grade qa.yaml here and write its output items:
  jurist evals run qa.yaml --out items.jsonl
where qa.yaml is
  eval:                   # the body of POST /v1/evals
    name: qa
    data_source_config: {type: custom, item_schema: {type: object}}
    testing_criteria:
      - {type: string_check, name: exact, operation: eq,
         input: "{{sample.output_text}}", reference: "{{item.answer}}"}
  run:                    # the body of POST /v1/evals/{eval_id}/runs
    name: baseline
    data_source: {type: jsonl, source: {path: qa.jsonl}}   # uploaded
and qa.jsonl holds a row a line:
  {"item": {"answer": "4"}, "sample": {"output_text": "4"}}"""


@evals_app.command("run", epilog=EPILOG)
def run_command(
    file: Annotated[Path, typer.Argument(help="EVAL.yaml: eval: (the eval's body) and run: (the run's).")],
    out: Annotated[
        Path | None, typer.Option(help="Write the output items here (JSONL, a row a line).")
    ] = None,
    server: Annotated[
        str | None, typer.Option(help="Run on this server (its URL; the API is at URL/v1), not locally.")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="API key: needed with --server; locally, run as its tenant.")
    ] = None,
    new: Annotated[bool, typer.Option(help="Start another run even if the last one completed.")] = False,
    cancel: Annotated[bool, typer.Option(help="Cancel this file's run instead, then exit.")] = False,
    state: Annotated[
        Path | None, typer.Option(help="The resume state file (default: .EVAL.yaml.jurist.json beside it).")
    ] = None,
) -> None:
    """Create an eval and its run from one YAML file and grade it.

    Prints the pass rates (overall and per criterion) and the usage.

    Locally (the default) as `jurist run` does: a worker in this process, a
    progress bar; run the same command again to resume after Ctrl-C or a crash.
    With --server, on that server: Ctrl-C leaves the run going there.
    Exit status: 0 completed, 1 failed or canceled, 2 bad usage (bad YAML, a
    request the API refused), 130 stopped before the run ended.
    """
    try:
        spec = load_spec(file)
        if server is not None and key is None:
            raise Usage("--server needs --key")
    except Usage as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    import aiohttp

    logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")
    memory = State(state or file.with_name(f".{file.name}.jurist.json"))
    opts = Options(out, new, cancel)
    try:
        if server is None:
            code = asyncio.run(_with_stop(lambda stop: _local(key, spec, memory, opts, stop)))
        else:
            code = asyncio.run(_with_stop(lambda stop: _remote(server, key or "", spec, memory, opts, stop)))
    except Usage as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {escape(exc.message)}")
        raise typer.Exit(2) from exc
    except JuristError as exc:
        where = f" (param: {exc.param})" if exc.param else ""
        what = f"refused ({exc.status_code})" if exc.status_code < 500 else "error"
        err.print(f"[red]{what}:[/red] {escape(exc.message)}{escape(where)}")
        raise typer.Exit(2 if exc.status_code < 500 else 1) from exc
    except (OSError, aiohttp.ClientError) as exc:
        err.print(f"[red]{f'could not reach {server}' if server else 'error'}:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except KeyboardInterrupt as exc:  # before the signal handlers are in place
        raise typer.Exit(INTERRUPTED) from exc
    raise typer.Exit(code)
