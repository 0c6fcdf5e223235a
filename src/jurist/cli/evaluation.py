"""The ``jurist eval`` command: loading, running (in-process or against a server), printing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from jurist.evaluation.datasets import PairItem, is_graded, load_graded, load_judgments, load_pairwise
from jurist.evaluation.metrics import Report, baselines, classification
from jurist.evaluation.selective_eval import JudgedItem, load_judged, selective_report
from jurist.service.judging.evaluate import Judgments, evaluate_grades, evaluate_pairs
from jurist.settings import Settings

T = TypeVar("T")

console = Console()


def _row(table: Table, name: str, report: Report) -> None:
    low, high = report.accuracy_ci
    table.add_row(
        name,
        f"{100 * report.accuracy:.1f}% [{100 * low:.1f}–{100 * high:.1f}]",
        f"{100 * report.macro_precision:.1f}",
        f"{100 * report.macro_recall:.1f}",
        f"{100 * report.macro_f1:.1f}",
        str(report.unparseable),
        str(report.predicted_ties),
    )


def _table(title: str) -> Table:
    table = Table(title=title)
    for column in ("judge", "accuracy [95% CI]", "macro-P", "macro-R", "macro-F1", "unparseable", "ties"):
        table.add_column(column, justify="left" if column == "judge" else "right")
    return table


def run_eval(
    data: Path,
    judgments: Path | None,
    model: str,
    server: str | None,
    key: str | None,
    limit: int | None,
    concurrency: int,
    settings_factory: Callable[[], Settings] | None,
    criteria: list[str] | None = None,
    selective: Selective | None = None,
) -> dict[str, object]:
    if is_graded(data):
        return run_grading(data, model, server, key, limit, concurrency, settings_factory)
    items = load_pairwise(data)[:limit] if limit else load_pairwise(data)
    gold = [i.label for i in items]
    base = baselines(items)
    table = _table(f"{data.name}: {len(items)} items")
    out: dict[str, object] = {"data": str(data), "items": len(items)}
    if judgments is not None:
        predicted = load_judgments(judgments)
        report = classification(gold, [predicted.get(i.id) for i in items])
        _row(table, judgments.name, report)
        out["judge"] = {"judgments": str(judgments), **report.as_dict()}
        if selective is not None:
            out["selective"] = _selective(selective, items, load_judged(judgments))
    else:
        started = time.perf_counter()
        two, first, second = asyncio.run(
            _run_engine(
                "judging (both orders)", len(items), server, key, settings_factory,
                lambda judge, advance: evaluate_pairs(items, judge, model, concurrency, advance, criteria),
            )
        )  # fmt: skip
        timing = _timing(len(items), time.perf_counter() - started)
        out["timing"] = timing
        out["criteria"] = criteria
        out["predictions"] = [
            {"id": i.id, "label": i.label, "as_given": a, "swapped": b}
            for i, a, b in zip(items, first, second, strict=True)
        ]
        _row(table, f"{model} (as given)", two.as_given)
        _row(table, f"{model} (swapped)", two.swapped)
        out["judge"] = {"model": model, "server": server, **two.as_dict()}
        if selective is not None:  # the verdict as given; swap consistency is the signal
            judged = {i.id: JudgedItem(a, b) for i, a, b in zip(items, first, second, strict=True)}
            out["selective"] = _selective(selective, items, judged)
        low, high = two.averaged_accuracy_ci
        console.print(
            f"{model}: accuracy averaged over both orders {100 * two.averaged_accuracy:.1f}% "
            f"[{100 * low:.1f}–{100 * high:.1f}], "
            f"positional agreement {100 * two.positional_agreement:.1f}%, "
            f"parse failures {two.parse_failures}; "
            f"{timing['items_per_second']:.3f} items/s ({timing['seconds']:.0f} s, both orders)"
        )
    for name, report in base.items():
        _row(table, f"baseline: {name}", report)
    out["baselines"] = {k: v.as_dict() for k, v in base.items()}
    console.print(table)
    return out


@dataclass(frozen=True)
class Selective:
    """``--agreement-target``/``--delta``, fitted on ``--calibration`` with ``--calibration-judgments``."""

    target: float
    delta: float
    calibration: Path
    calibration_judgments: Path


def _undecided(name: str, part: object) -> None:
    """A notice when some items of a set were undecided (no verdict, or one order and no confidence)."""
    assert isinstance(part, dict)
    ids = part.get("undecided_ids") or []
    if ids:
        shown = ", ".join(str(i) for i in ids[:5]) + (", …" if len(ids) > 5 else "")
        notice = (
            f"{name}: {len(ids)} of {part['items']} items undecided (no verdict, or one order judged and "
            f"no confidence), counted at the lowest confidence: {shown}"
        )
        console.print(escape(notice))


def _selective(args: Selective, items: list[PairItem], judged: dict[str, JudgedItem]) -> dict[str, object]:
    """Raises ValueError for bad bounds; items without a confidence signal are counted as undecided."""
    found = selective_report(
        load_pairwise(args.calibration), load_judged(args.calibration_judgments),
        items, judged, args.target, args.delta,
    )  # fmt: skip
    _undecided(f"calibration set ({args.calibration.name})", found["calibration"])
    _undecided("evaluated set", found["test"])
    test = found["test"]
    assert isinstance(test, dict)
    if found["threshold"] is None:
        console.print(f"selective verdicts: {found['reason']}")
        return found
    low, high = test.get("agreement_ci", (0.0, 1.0))
    agreement = test.get("agreement")
    shown = "n/a" if agreement is None else f"{100 * agreement:.1f}% [{100 * low:.1f}–{100 * high:.1f}]"
    console.print(
        f"selective verdicts (target {args.target}, delta {args.delta}): threshold {found['threshold']:.4g}, "
        f"coverage {100 * test['coverage']:.1f}% ({test['accepted']}/{test['items']}), "
        f"accepted agreement {shown}, guarantee {'held' if found['guarantee_held'] else 'NOT held'} "
        "on these items"
    )
    return found


def _timing(items: int, seconds: float) -> dict[str, float]:
    """Wall time of the judging (model loading included), and items per second."""
    return {"seconds": round(seconds, 2), "items_per_second": round(items / seconds, 4) if seconds else 0.0}


def model_concurrency(settings: Settings, model: str) -> int:
    """Items judged at once in process: the model's own concurrency (the embedded engine's
    ``parallel``, an upstream's ``max_concurrency``), 4 for a model the settings do not name."""
    from jurist.backends.registry import configured_models

    config = configured_models(settings).models.get(model)
    return config.concurrency if config is not None else 4


async def _run_engine(
    label: str,
    total: int,
    server: str | None,
    key: str | None,
    settings_factory: Callable[[], Settings] | None,
    evaluate: Callable[[Judgments, Callable[[int], None]], Awaitable[T]],
) -> T:
    """Run ``evaluate`` against a server, or in-process on the configured models, with a progress bar."""
    import aiohttp

    from jurist.service.judging.evaluate import local_judgments, server_judgments

    columns = (*Progress.get_default_columns()[:-1], BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(label, total=total)

        def advance(n: int) -> None:
            bar.advance(task, n)

        if server is not None:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=900)) as session:
                return await evaluate(server_judgments(session, server, key or ""), advance)
        from jurist.composition import build_services

        assert settings_factory is not None
        services = build_services(settings_factory())
        await services.start(run_worker=False)
        try:
            return await evaluate(local_judgments(services.chat), advance)
        finally:
            await services.aclose()


def run_grading(
    data: Path,
    model: str,
    server: str | None,
    key: str | None,
    limit: int | None,
    concurrency: int,
    settings_factory: Callable[[], Settings] | None,
) -> dict[str, object]:
    """Single-answer grading: Pearson and Kendall's tau-b against the reference scores."""
    items = load_graded(data)[:limit] if limit else load_graded(data)
    started = time.perf_counter()
    result, scores = asyncio.run(
        _run_engine(
            "grading", len(items), server, key, settings_factory,
            lambda judge, advance: evaluate_grades(items, judge, model, concurrency, advance),
        )
    )  # fmt: skip
    timing = _timing(len(items), time.perf_counter() - started)
    table = Table(title=f"{data.name}: {len(items)} graded answers")
    for column in ("judge", "scored", "Pearson r", "Kendall tau-b"):
        table.add_column(column, justify="left" if column == "judge" else "right")

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    table.add_row(model, f"{result.scored}/{result.n}", fmt(result.pearson), fmt(result.kendall_tau_b))
    console.print(table)
    judge = {"model": model, **result.as_dict()}
    return {
        "data": str(data), "items": len(items), "mode": "single", "judge": judge, "scores": scores,
        "timing": timing,
    }  # fmt: skip
