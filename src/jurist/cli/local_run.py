"""The ``jurist run`` command: a progress bar (done / failed / rate / ETA) over ``service.local_run``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from jurist.runner.local_run import RunStats, read_requests, run_file
from jurist.settings import Settings

console = Console(stderr=True)


def run_local(settings: Settings, input_file: Path, output: Path, errors: Path) -> int:
    return asyncio.run(_run(settings, input_file, output, errors))


async def _run(settings: Settings, input_file: Path, output: Path, errors: Path) -> int:
    from jurist.composition import build_services

    services = build_services(settings)
    for notice in services.notices:
        console.print(f"[yellow]notice:[/yellow] {escape(notice)}")
    lines, problems = read_requests(input_file, frozenset(services.chat.models), settings.max_batch_lines)
    if problems:
        for problem in problems[:20]:
            console.print(f"[red]line {problem['line']}[/red] {problem['code']}: {problem['message']}")
        console.print(f"{len(problems)} invalid line(s); nothing was run.")
        return 2
    from jurist.store.migrations import upgrade

    await services.db.open()  # the judge cache lives in the data dir's database
    await upgrade(services.db)
    for backend in services.backends:
        await backend.start()
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failed {task.fields[failed]}"),
        TextColumn("{task.fields[rate]:.1f} lines/s"),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("judging", total=len(lines), failed=0, rate=0.0)
            loop = asyncio.get_running_loop()
            started = loop.time()

            def progress(stats: RunStats) -> None:
                finished = stats.completed + stats.failed
                rate = finished / max(1e-6, loop.time() - started)
                bar.update(task, completed=stats.skipped + finished, failed=stats.failed, rate=rate)

            concurrency = {name: m.config.concurrency for name, m in services.chat.models.items()}
            stats = await run_file(
                services.chat, lines, output, errors, concurrency, settings.max_attempts,
                settings.retry_base_seconds, progress,
            )  # fmt: skip
            bar.update(task, completed=len(lines))
    finally:
        for backend in services.backends:
            await backend.aclose()
        await services.db.close()
    console.print(
        f"{stats.completed} completed, {stats.failed} failed, {stats.skipped} already done "
        f"→ {output}, {errors}"
    )
    return 0
