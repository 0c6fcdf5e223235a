"""Reading what a comparison's anchored figures need: the runs' labels and the judge's scale (the
figures themselves: ``anchored``)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import numpy as np

from jurist.evaluation.ppi import FloatArray
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.service.evals import anchored
from jurist.service.evals.compare import paired_rows
from jurist.store.eval_records import EvalRunRecord, EvalStore, GradedRows
from jurist.store.labels import LabelStore


async def run_labels(labels: LabelStore, run: EvalRunRecord, pairwise: bool) -> dict[int, float]:
    """Row index → the mean human label of the row's line in the run's batch."""
    if run.batch_id is None:
        return {}
    return anchored.mean_labels(await labels.list(run.tenant, run.batch_id), pairwise)


async def anchored_comparison(
    store: EvalStore,
    labels: LabelStore,
    runs: tuple[EvalRunRecord, EvalRunRecord],
    criteria: Sequence[JsonValue],
    rows: tuple[GradedRows, GradedRows],
    alpha: float,
) -> JSONObject | None:
    """A comparison's figures anchored on labels (None: the eval has no single-mode ``jurist_judge``
    criterion, whose judgment the runs' lines carry)."""
    found = anchored.judge_criterion(criteria)
    if found is None:
        return None
    k, chosen = found
    scale = await _scale(store, runs[0], k)
    cut = anchored.cut_of(chosen, scale)
    labelled = (await run_labels(labels, runs[0], False), await run_labels(labels, runs[1], False))
    if not labelled[0] and not labelled[1]:  # nothing to anchor on: no arrays to build
        none: JSONObject = {"labels": 0, "pass_rate": None, "mean_score": None}
        return {"criterion": str(chosen.get("name")), "pass_cut": cut, "base": none, "candidate": none,
                "delta": none}  # fmt: skip
    return await asyncio.to_thread(_figures, chosen, (cut, scale), k, rows, labelled, alpha)


def _figures(
    chosen: Mapping[str, JsonValue],
    cut_scale: tuple[float, tuple[float, float]],
    k: int,
    rows: tuple[GradedRows, GradedRows],
    found: tuple[dict[int, float], dict[int, float]],
    alpha: float,
) -> JSONObject:
    cut, scale = cut_scale
    size = max([0, *rows[0].indexes, *rows[1].indexes]) + 1
    scores = (_scores_of(rows[0], k, size), _scores_of(rows[1], k, size))
    truths = (anchored.dense(found[0], size), anchored.dense(found[1], size))
    ia, ib = paired_rows(rows[0], rows[1])
    return {
        "criterion": str(chosen.get("name")),
        "pass_cut": cut,
        "base": anchored.run_figures(scores[0], truths[0], cut, alpha, scale),
        "candidate": anchored.run_figures(scores[1], truths[1], cut, alpha, scale),
        "delta": anchored.delta_figures((ia, ib), scores, truths, cut, alpha, scale),
    }


async def _scale(store: EvalStore, run: EvalRunRecord, k: int) -> tuple[float, float]:
    """The judge's score range, from a graded row's judgment (PAI's 1..5 when none says)."""
    for status in ("pass", "fail"):
        page = await store.list_items(run.tenant, run.id, None, 1, "asc", status)
        for item in page.items:
            results = item.body.get("results")
            result = results[k] if isinstance(results, list) and len(results) > k else None
            sample = result.get("sample") if isinstance(result, dict) else None
            judgment = sample.get("judgment") if isinstance(sample, dict) else None
            found = judgment.get("score_range") if isinstance(judgment, dict) else None
            if isinstance(found, list) and len(found) == 2:
                low, high = found
                if isinstance(low, int | float) and isinstance(high, int | float):
                    return float(low), float(high)
    return 1.0, 5.0


def _scores_of(rows: GradedRows, k: int, size: int) -> FloatArray:
    """Criterion ``k``'s scores by row index (NaN: errored, or no such row)."""
    out = np.full(size, np.nan)
    values = [s[k] if len(s) > k and s[k] is not None else np.nan for s in rows.scores]
    out[np.asarray(rows.indexes, dtype=np.int64)] = np.asarray(values, dtype=np.float64)
    return out
