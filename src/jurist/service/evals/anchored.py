"""Figures anchored on human labels: prediction-powered (PPI++) estimates next to the judge-only ones.

A run's rows are the lines of its internal batch (``row-{index}``), and a line carries the judgment of
the run's first ``jurist_judge`` criterion, so humans label it as any judged line
(``POST /v1/batches/{batch_id}/labels``, the console's review). Several annotators' labels of one line
are averaged.

- A comparison (single-mode judge): for each run, the pass rate (a label passes at the criterion's
  ``pass_threshold``, or the middle of the judge's scale, as the judge's verdict does) and the mean
  score; and the paired delta candidate − base over the items both runs hold, anchored on the items
  labelled in both runs.
- A head-to-head run (pairwise judge, candidate as answer 1): the candidate's win rate (label "1" a win,
  "2" a loss, "tie" a half).

Each figure: ``judge_only`` (the judge's mean with its naive interval: it covers the judge's own value,
not the humans') and ``ppi`` (``evaluation.ppi.ppi_mean``, power-tuned, with ``effective_labels``), at
``1 − alpha``. A figure needs at least two labelled items; with fewer it is absent and ``labels`` says
how many there are."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from jurist.evaluation.ppi import FloatArray, judge_only_mean, ppi_mean
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.store.labels import LabelRecord

WIN_LABELS = {"1": 1.0, "2": 0.0, "tie": 0.5}  # answer 1's (the candidate's) win value


def mean_labels(records: Sequence[LabelRecord], pairwise: bool) -> dict[int, float]:
    """Row index → the annotators' mean label (a row's line is ``row-{index}``)."""
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    for record in records:
        custom_id = record.custom_id
        if not custom_id.startswith("row-") or not custom_id[4:].isdigit():
            continue
        label = record.label
        if pairwise:
            value = WIN_LABELS.get(str(label))
        else:
            value = float(label) if isinstance(label, int | float) and not isinstance(label, bool) else None
        if value is not None:
            row = int(custom_id[4:])
            sums[row] = sums.get(row, 0.0) + value
            counts[row] = counts.get(row, 0) + 1
    return {row: total / counts[row] for row, total in sums.items()}


def dense(rows: Mapping[int, float], size: int) -> FloatArray:
    """Values by row index as an array of ``size`` (NaN: none)."""
    out = np.full(size, np.nan)
    if rows:
        keys = np.fromiter(rows.keys(), dtype=np.int64, count=len(rows))
        keep = keys < size
        out[keys[keep]] = np.fromiter(rows.values(), dtype=np.float64, count=len(rows))[keep]
    return out


def figure(
    predictions: FloatArray, truths: FloatArray, alpha: float, bounds: tuple[float, float]
) -> JSONObject | None:
    """Judge-only and PPI++ estimates of the mean of a quantity over the rows the judge valued
    (``predictions``; NaN: no value), anchored on ``truths`` (NaN: no label) of those rows."""
    valid = ~np.isnan(predictions)
    labelled = valid & ~np.isnan(truths)
    if int(valid.sum()) < 2 or int(labelled.sum()) < 2:
        return None
    estimate = ppi_mean(
        truths[labelled], predictions[labelled], predictions[valid & ~labelled], alpha=alpha, bounds=bounds
    )
    judge = judge_only_mean(predictions[valid], alpha=alpha)
    return {"judge_only": _rounded(judge.as_dict()), "ppi": _rounded(estimate.as_dict())}


def _rounded(values: Mapping[str, float | int]) -> JSONObject:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in values.items()}


def judge_criterion(criteria: Sequence[JsonValue]) -> tuple[int, Mapping[str, JsonValue]] | None:
    """The first ``jurist_judge`` criterion in single mode (the one a run's lines carry), and its place."""
    for k, criterion in enumerate(criteria):
        if isinstance(criterion, dict) and criterion.get("type") == "jurist_judge":
            return (k, criterion) if criterion.get("mode", "single") == "single" else None
    return None


def cut_of(criterion: Mapping[str, JsonValue], scale: tuple[float, float]) -> float:
    threshold = criterion.get("pass_threshold")
    if isinstance(threshold, int | float) and not isinstance(threshold, bool):
        return float(threshold)
    return (scale[0] + scale[1]) / 2


def _passes(values: FloatArray, cut: float) -> FloatArray:
    out: FloatArray = np.where(np.isnan(values), np.nan, (values >= cut).astype(np.float64))
    return out


def run_figures(
    scores: FloatArray, truths: FloatArray, cut: float, alpha: float, scale: tuple[float, float]
) -> JSONObject:
    """A run's anchored pass rate and mean score (``scores``, ``truths``: by row index, NaN: none;
    ``scale``: the judge's score range)."""
    return {
        "labels": int((~np.isnan(scores) & ~np.isnan(truths)).sum()),
        "pass_rate": figure(_passes(scores, cut), _passes(truths, cut), alpha, (0.0, 1.0)),
        "mean_score": figure(scores, truths, alpha, scale),
    }


def delta_figures(
    pairs: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    scores: tuple[FloatArray, FloatArray],
    truths: tuple[FloatArray, FloatArray],
    cut: float,
    alpha: float,
    scale: tuple[float, float],
) -> JSONObject:
    """The paired delta (candidate − base) of pass rate and mean score over ``pairs`` (base rows,
    candidate rows), anchored on the pairs labelled in both runs."""
    ia, ib = pairs
    out: JSONObject = {"labels": int((~np.isnan(truths[0][ia]) & ~np.isnan(truths[1][ib])).sum())}
    width = scale[1] - scale[0]
    for name, convert, bounds in (
        ("pass_rate", lambda v: _passes(v, cut), (-1.0, 1.0)),
        ("mean_score", lambda v: v, (-width, width)),
    ):
        predicted = convert(scores[1])[ib] - convert(scores[0])[ia]  # NaN unless both valued
        human = convert(truths[1])[ib] - convert(truths[0])[ia]
        out[name] = figure(predicted, human, alpha, bounds)
    return out
