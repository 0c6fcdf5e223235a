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

from jurist.errors import InvalidRequest, NotFound
from jurist.evaluation.paired import Paired, adjusted, compare_pass, compare_scores
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.store.evals import EvalRunRecord, GradedRow

DIFFS_SHOWN = 100  # changed rows listed by default


@dataclass(frozen=True)
class Settings:
    margin: float = 0.02
    alpha: float = 0.05
    allow_mismatch: bool = False
    criterion: str | None = None
    diffs: int = DIFFS_SHOWN


def check_settings(margin: float, alpha: float) -> None:
    if not 0 < margin < 1:
        raise InvalidRequest(f"margin must be in (0, 1), got {margin}.", param="margin")
    if not 0 < alpha <= 0.5:
        raise InvalidRequest(f"alpha must be in (0, 0.5], got {alpha}.", param="alpha")


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


def _pairs(
    base: Sequence[GradedRow], candidate: Sequence[GradedRow]
) -> tuple[list[tuple[GradedRow, GradedRow]], int, int]:
    mine = {row.item_key: row for row in base}
    theirs = {row.item_key: row for row in candidate}
    pairs = [(mine[key], theirs[key]) for key in mine if key in theirs]
    return pairs, len(set(mine) - set(theirs)), len(set(theirs) - set(mine))


def _criterion(
    pairs: Sequence[tuple[GradedRow, GradedRow]], k: int, s: Settings
) -> tuple[Paired, Paired, int]:
    graded = [
        (a, b)
        for a, b in pairs
        if len(a.verdicts) > k and len(b.verdicts) > k and "E" not in (a.verdicts[k], b.verdicts[k])
    ]
    base = [a.verdicts[k] == "P" for a, _ in graded]
    passed = compare_pass(base, [b.verdicts[k] == "P" for _, b in graded], alpha=s.alpha, margin=s.margin)
    scored = [(a.scores[k], b.scores[k]) for a, b in graded if len(a.scores) > k and len(b.scores) > k]
    both = [(x, y) for x, y in scored if x is not None and y is not None]
    scores = compare_scores([x for x, _ in both], [y for _, y in both], alpha=s.alpha, margin=s.margin)
    return passed, scores, len(pairs) - len(graded)


def _stats(found: Paired) -> JSONObject:
    return dict(found.as_dict())


def _diff(a: GradedRow, b: GradedRow) -> JSONObject:
    return {"item_key": a.item_key, "base_index": a.index, "candidate_index": b.index, "base": a.status,
            "candidate": b.status, "base_verdicts": a.verdicts, "candidate_verdicts": b.verdicts}  # fmt: skip


def compare(
    base: EvalRunRecord, candidate: EvalRunRecord, criteria: Sequence[JsonValue],
    base_rows: Sequence[GradedRow], candidate_rows: Sequence[GradedRow], s: Settings,
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
    pairs, only_base, only_candidate = _pairs(base_rows, candidate_rows)
    chosen = [k for k, name in enumerate(names) if s.criterion in (None, name)]
    per = [_criterion(pairs, k, s) for k in chosen]
    passes = adjusted([p for p, _, _ in per], s.alpha, s.margin)
    scores = adjusted([q for _, q, _ in per], s.alpha, s.margin)
    overall = compare_pass([a.status == "pass" for a, _ in pairs], [b.status == "pass" for _, b in pairs],
                           alpha=s.alpha, margin=s.margin)  # fmt: skip
    order = {"pass": 2, "fail": 1, "error": 0}
    changed = [(a, b) for a, b in pairs if a.status != b.status]
    improved = [(a, b) for a, b in changed if order[b.status] > order[a.status]]
    regressed = [(a, b) for a, b in changed if order[b.status] < order[a.status]]
    return {
        "object": "eval.runs.comparison",
        "base": base.id,
        "candidate": candidate.id,
        "complete": base.status == candidate.status == "completed",
        "margin": s.margin,
        "alpha": s.alpha,
        "mismatches": differ,  # type: ignore[dict-item]
        "items": {
            "paired": len(pairs),
            "only_in_base": only_base,
            "only_in_candidate": only_candidate,
            "improved": len(improved),
            "regressed": len(regressed),
            "same": len(pairs) - len(changed),
        },
        "overall": _stats(overall),
        "criteria": [
            {"name": names[k], "pass": _stats(p), "score": _stats(q), "errored": errored}
            for k, p, q, (_, _, errored) in zip(chosen, passes, scores, per, strict=True)
        ],
        "diffs": [_diff(a, b) for a, b in (regressed + improved)[: s.diffs]],
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
