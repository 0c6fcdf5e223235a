"""Which is better, the base run or the candidate? Two runs of one eval, compared row by row.

Rows are paired by their item (a digest of the row's ``item``): a row in one run only is counted apart
(``only_in_base``, ``only_in_candidate``), never dropped silently. Runs are comparable when they were
graded alike: the same criteria with the same models' configuration (``digests``), over the same items;
what was sampled (the model or the prompt under test) may differ: that is what is compared. A run whose grader
definitions or items differ is refused with a 400 naming what differs, unless ``allow_mismatch``.

Per testing criterion: pass/fail (McNemar's exact test) and scores (Wilcoxon signed-rank), over the rows
where that criterion graded both runs (an errored criterion counts apart); Holm's correction across the
criteria; overall: the rows' pass/fail. Statistics: ``evaluation.paired``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from jurist.errors import InvalidRequest, NotFound
from jurist.evaluation.paired import Paired, adjusted, compare_pass, compare_scores
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.store.eval_records import EvalRunRecord, GradedRows

DIFFS_SHOWN = 100  # changed rows listed by default


@dataclass(frozen=True)
class Settings:
    margin: float = 0.02
    alpha: float = 0.05
    allow_mismatch: bool = False
    criterion: str | None = None
    diffs: int = DIFFS_SHOWN


def mismatches(base: EvalRunRecord, candidate: EvalRunRecord) -> list[str]:
    """What about the two runs' grading differs (empty: comparable)."""
    a, b = base.body.get("digests"), candidate.body.get("digests")
    if not isinstance(a, dict) or not isinstance(b, dict):
        return ["the runs' grading was not recorded (runs made before comparisons existed)"]
    found: list[str] = []
    ca, cb = a.get("criteria") or {}, b.get("criteria") or {}
    assert isinstance(ca, dict) and isinstance(cb, dict)
    for name in sorted(set(ca) | set(cb)):
        if ca.get(name) != cb.get(name):
            found.append(f"testing criterion {name!r} (its definition or its model's configuration)")
    if a.get("items") != b.get("items"):
        found.append("the items (the dataset)")
    return found


@dataclass(frozen=True)
class _Run:
    """A run's graded rows as arrays: verdict characters and scores (NaN: errored) per criterion."""

    rows: GradedRows
    verdicts: np.ndarray  # (rows, criteria) of b"P" / b"F" / b"E"
    scores: np.ndarray  # (rows, criteria) float, NaN where there is none

    @classmethod
    def of(cls, rows: GradedRows, k: int) -> _Run:
        text = "".join(v[:k].ljust(k, "E") for v in rows.verdicts).encode("ascii", "replace")
        verdicts = np.frombuffer(text, dtype="S1").reshape(len(rows.verdicts), k)
        try:  # every row scored on every criterion: one conversion
            scores = np.array(rows.scores, dtype=np.float64).reshape(len(rows.scores), k)
        except (TypeError, ValueError):  # an errored criterion (None) or a row of another length
            nan = float("nan")
            scores = np.array(
                [
                    [nan if x is None else x for x in (row[:k] + [None] * (k - len(row)))]
                    for row in rows.scores
                ],
                dtype=np.float64,
            ).reshape(len(rows.scores), k)
        return cls(rows, verdicts, scores)


def _keys(keys: Sequence[str]) -> list[str]:
    """Item keys made unique by occurrence (a dataset may hold the same item twice)."""
    if len(set(keys)) == len(keys):
        return list(keys)
    seen: dict[str, int] = {}
    out = []
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
        out.append(f"{key}#{seen[key]}")
    return out


def _pairs(base: GradedRows, candidate: GradedRows) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Row positions in each run of the items both hold, and the counts held by one only."""
    theirs = {key: j for j, key in enumerate(_keys(candidate.keys))}
    mine, ours = [], []
    for i, key in enumerate(_keys(base.keys)):
        j = theirs.get(key)
        if j is not None:
            mine.append(i)
            ours.append(j)
    n = len(mine)
    return (
        np.array(mine, dtype=np.int64),
        np.array(ours, dtype=np.int64),
        len(base.keys) - n,
        len(candidate.keys) - n,
    )


def paired_rows(base: GradedRows, candidate: GradedRows) -> tuple[np.ndarray, np.ndarray]:
    """The row indexes, in each run, of the items both runs hold (as a comparison pairs them)."""
    ia, ib, _, _ = _pairs(base, candidate)
    return np.asarray(base.indexes, dtype=np.int64)[ia], np.asarray(candidate.indexes, dtype=np.int64)[ib]


def _criterion(
    a: _Run, b: _Run, ia: np.ndarray, ib: np.ndarray, k: int, s: Settings
) -> tuple[Paired, Paired, int]:
    va, vb = a.verdicts[ia, k], b.verdicts[ib, k]
    graded = (va != b"E") & (vb != b"E")
    passed = compare_pass(va[graded] == b"P", vb[graded] == b"P", alpha=s.alpha, margin=s.margin)
    sa, sb = a.scores[ia, k], b.scores[ib, k]
    both = graded & ~np.isnan(sa) & ~np.isnan(sb)
    scores = compare_scores(sa[both], sb[both], alpha=s.alpha, margin=s.margin)
    return passed, scores, int(len(ia) - graded.sum())


def _stats(found: Paired) -> JSONObject:
    return dict(found.as_dict())


def _diff(a: GradedRows, b: GradedRows, i: int, j: int) -> JSONObject:
    return {"item_key": a.keys[i], "base_index": a.indexes[i], "candidate_index": b.indexes[j],
            "base": a.statuses[i], "candidate": b.statuses[j], "base_verdicts": a.verdicts[i],
            "candidate_verdicts": b.verdicts[j]}  # fmt: skip


def compare(
    base: EvalRunRecord, candidate: EvalRunRecord, criteria: Sequence[JsonValue],
    base_rows: GradedRows, candidate_rows: GradedRows, s: Settings,
) -> JSONObject:  # fmt: skip
    """The comparison as ``GET /v1/evals/{id}/runs/compare`` answers it."""
    names = [str(c.get("name")) for c in criteria if isinstance(c, dict)]
    if s.criterion is not None and s.criterion not in names:
        raise InvalidRequest(
            f"criterion {s.criterion!r} is not a testing criterion of this eval ({', '.join(names)}).",
            param="criterion",
        )
    differ = mismatches(base, candidate)
    if differ and not s.allow_mismatch:
        raise InvalidRequest(
            "The runs were not graded alike: " + "; ".join(differ) + " differ. Compare them anyway with "
            "allow_mismatch=true.",
            param="candidate",
            code="runs_not_comparable",
        )
    ia, ib, only_base, only_candidate = _pairs(base_rows, candidate_rows)
    a, b = _Run.of(base_rows, len(names)), _Run.of(candidate_rows, len(names))
    chosen = [k for k, name in enumerate(names) if s.criterion in (None, name)]
    per = [_criterion(a, b, ia, ib, k, s) for k in chosen]
    passes = adjusted([p for p, _, _ in per], s.alpha, s.margin)
    scores = adjusted([q for _, q, _ in per], s.alpha, s.margin)
    rank = {"pass": 2, "fail": 1, "error": 0}
    ra = np.array([rank.get(x, 0) for x in base_rows.statuses], dtype=np.int8)[ia]
    rb = np.array([rank.get(x, 0) for x in candidate_rows.statuses], dtype=np.int8)[ib]
    overall = compare_pass(ra == 2, rb == 2, alpha=s.alpha, margin=s.margin)
    up, down = np.flatnonzero(rb > ra), np.flatnonzero(rb < ra)
    listed = [*down.tolist(), *up.tolist()][: s.diffs]  # regressions first
    return {
        "object": "eval.runs.comparison",
        "base": base.id,
        "candidate": candidate.id,
        "complete": base.status == candidate.status == "completed",
        "margin": s.margin,
        "alpha": s.alpha,
        "mismatches": differ,  # type: ignore[dict-item]
        "items": {
            "paired": len(ia),
            "only_in_base": only_base,
            "only_in_candidate": only_candidate,
            "improved": len(up),
            "regressed": len(down),
            "same": len(ia) - len(up) - len(down),
        },
        "overall": _stats(overall),
        "criteria": [
            {"name": names[k], "pass": _stats(p), "score": _stats(q), "errored": errored}
            for k, p, q, (_, _, errored) in zip(chosen, passes, scores, per, strict=True)
        ],
        "diffs": [_diff(base_rows, candidate_rows, int(ia[x]), int(ib[x])) for x in listed],
    }


def runs_of(
    found: Mapping[str, EvalRunRecord | None], ids: Mapping[str, str]
) -> tuple[EvalRunRecord, EvalRunRecord]:
    out = []
    for param in ("base", "candidate"):
        run = found.get(param)
        if run is None:
            raise NotFound(f"No eval run found with id '{ids[param]}' in this eval.", param=param)
        out.append(run)
    return out[0], out[1]
