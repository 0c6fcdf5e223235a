"""What the comparison page shows of ``GET /v1/evals/{eval_id}/runs/compare``'s answer
(``EvalService.compare_runs``), as typed values (no I/O here): per testing criterion and overall, each
run's pass rate or mean score, the paired delta with its interval, the test, its p-value and Holm's
adjusted one, the decision (a badge) and, when inconclusive, about how many paired rows would probably
decide it; the item counts. The answer is read defensively: a field it lacks is shown as "—", and a
field this page does not know (an estimate added later) is shown as its JSON, never dropped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jurist.api.console.evals_view import Clip, json_clip
from jurist.protocol.json_types import JSONObject, JsonValue

DECISION_BADGES = {"better": "good", "worse": "bad", "inconclusive": "warn", "equivalent": ""}
TESTS = {"mcnemar_exact": "McNemar (exact)", "wilcoxon": "Wilcoxon signed-rank"}
KNOWN = frozenset({"object", "base", "candidate", "complete", "margin", "alpha", "mismatches", "items",
                   "overall", "criteria", "diffs", "anchored"})  # fmt: skip
KNOWN_CRITERION = frozenset({"name", "pass", "score", "errored"})
COUNTS = ("paired", "only_in_base", "only_in_candidate", "improved", "regressed", "same")
NONE = "—"


def _num(found: Mapping[str, JsonValue], key: str) -> float | None:
    value = found.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int(found: Mapping[str, JsonValue], key: str) -> int | None:
    value = found.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _object(value: JsonValue) -> JSONObject:
    return value if isinstance(value, dict) else {}


def p_text(p: float | None) -> str:
    if p is None:
        return NONE
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}"


@dataclass(frozen=True)
class StatView:
    """One paired comparison (a criterion's pass/fail or scores, or the rows' overall pass/fail)."""

    kind: str  # pass | score
    measure: str  # "pass rate" | "mean score"
    n: int | None
    base: str
    candidate: str
    delta: str
    ci: str
    improved: int | None
    regressed: int | None
    same: int | None
    test: str
    p_value: str
    p_adjusted: str
    decision: str
    badge: str
    mde: str
    items_needed: int | None  # inconclusive only: paired rows that would probably decide it
    more_needed: int | None  # … that many more than now


def _stat(found: Mapping[str, JsonValue], kind: str) -> StatView:
    rate = kind == "pass"

    def value(x: float | None) -> str:
        return NONE if x is None else f"{100 * x:.1f}%" if rate else f"{x:.3f}"

    def signed(x: float | None) -> str:
        return NONE if x is None else f"{100 * x:+.1f}" if rate else f"{x:+.3f}"

    n = _int(found, "n")
    low, high = _num(found, "ci_low"), _num(found, "ci_high")
    decision = str(found.get("decision") or "")
    needed = _int(found, "items_needed") if decision == "inconclusive" else None
    delta = signed(_num(found, "delta"))
    mde = _num(found, "mde")
    return StatView(
        kind, "pass rate" if rate else "mean score", n, value(_num(found, "base")),
        value(_num(found, "candidate")), delta + (" pts" if rate and delta != NONE else ""),
        NONE if low is None or high is None else f"[{signed(low)}, {signed(high)}]",
        _int(found, "improved"), _int(found, "regressed"), _int(found, "same"),
        TESTS.get(str(found.get("test") or ""), str(found.get("test") or NONE)),
        p_text(_num(found, "p_value")), p_text(_num(found, "p_adjusted")), decision or NONE,
        DECISION_BADGES.get(decision, "warn"),
        NONE if mde is None else (f"{100 * mde:.1f} pts" if rate else f"{mde:.3f}"),
        needed, None if needed is None or n is None else max(0, needed - n),
    )  # fmt: skip


@dataclass(frozen=True)
class CriterionCompare:
    name: str
    stats: list[StatView]  # pass, then score (those the answer holds)
    errored: int | None  # paired rows where it errored in either run (left out of its statistics)
    extras: list[tuple[str, Clip]]  # fields this page does not know, as JSON


@dataclass(frozen=True)
class Figure:
    """An estimate anchored on human labels, or the judge's alone: the value, its interval, and how."""

    estimate: str
    ci: str
    detail: str  # labels used, effective labels, PPI++'s lambda (those the answer holds)


@dataclass(frozen=True)
class AnchoredRow:
    what: str  # Base | Candidate | Δ
    labels: int | None
    figures: list[Figure | None]  # pass rate: judge only, PPI++; mean score: judge only, PPI++


@dataclass(frozen=True)
class AnchoredView:
    """``anchored``: a judged criterion's pass rate and mean score of each run and their delta, from the
    judge alone and anchored on the human labels of the runs' lines (PPI++)."""

    criterion: str
    pass_cut: str
    rows: list[AnchoredRow]


def _figure(found: JsonValue, rate: bool, signed: bool) -> Figure | None:
    if not isinstance(found, dict):
        return None
    sign = "+" if signed else ""

    def text(x: float | None) -> str:
        return NONE if x is None else f"{100 * x:{sign}.1f}%" if rate else f"{x:{sign}.3f}"

    low, high = _num(found, "ci_low"), _num(found, "ci_high")
    lam, effective, labeled = _num(found, "lam"), _num(found, "effective_labels"), _int(found, "n_labeled")
    detail = [f"{labeled} labelled"] if labeled else []
    detail += [f"≈{effective:.1f} effective labels"] if effective else []
    detail += [f"λ {lam:.2f}"] if lam is not None and labeled else []
    ci = NONE if low is None or high is None else f"[{text(low)}, {text(high)}]"
    return Figure(text(_num(found, "estimate")), ci, " · ".join(detail))


def anchored_view(found: JsonValue) -> AnchoredView | None:
    if not isinstance(found, dict):
        return None
    rows = []
    for key, what in (("base", "Base"), ("candidate", "Candidate"), ("delta", "Δ candidate − base")):
        run = _object(found.get(key))
        pair = [(_object(run.get(m)), m == "pass_rate") for m in ("pass_rate", "mean_score")]
        figures = [_figure(f.get(k), rate, key == "delta") for f, rate in pair for k in ("judge_only", "ppi")]
        rows.append(AnchoredRow(what, _int(run, "labels"), figures))
    cut = _num(found, "pass_cut")
    return AnchoredView(str(found.get("criterion") or ""), NONE if cut is None else f"{cut:g}", rows)


@dataclass(frozen=True)
class ComparisonView:
    base: str
    candidate: str
    complete: bool
    margin: str
    alpha: str
    level: str  # the intervals' confidence, 1 − alpha
    mismatches: list[str]
    counts: dict[str, int]  # COUNTS → rows (those the answer holds)
    overall: StatView | None
    criteria: list[CriterionCompare]
    anchored: AnchoredView | None
    extras: list[tuple[str, Clip]]

    @property
    def decisions(self) -> list[tuple[str, StatView]]:
        """The decision summary: (what, statistics), overall first."""
        out = [("Overall (rows' pass/fail)", self.overall)] if self.overall else []
        for c in self.criteria:
            out += [(f"{c.name}: {s.measure}", s) for s in c.stats]
        return out


def _extras(found: Mapping[str, JsonValue], known: frozenset[str]) -> list[tuple[str, Clip]]:
    return [(key, json_clip(value)) for key, value in found.items() if key not in known and value is not None]


def comparison_view(found: JSONObject) -> ComparisonView:
    items = _object(found.get("items"))
    counts = {key: n for key in COUNTS if (n := _int(items, key)) is not None}
    listed = found.get("criteria")
    criteria = []
    for k, c in enumerate(listed if isinstance(listed, list) else []):
        if not isinstance(c, dict):
            continue
        stats = [_stat(s, kind) for kind in ("pass", "score") if isinstance(s := c.get(kind), dict)]
        name = str(c.get("name") or f"criterion {k + 1}")
        criteria.append(CriterionCompare(name, stats, _int(c, "errored"), _extras(c, KNOWN_CRITERION)))
    overall = found.get("overall")
    mismatches = found.get("mismatches")
    margin, alpha = _num(found, "margin"), _num(found, "alpha")
    return ComparisonView(
        str(found.get("base") or ""), str(found.get("candidate") or ""), found.get("complete") is not False,
        NONE if margin is None else f"{margin:g}", NONE if alpha is None else f"{alpha:g}",
        NONE if alpha is None else f"{100 * (1 - alpha):g}%",
        [str(m) for m in mismatches] if isinstance(mismatches, list) else [], counts,
        _stat(overall, "pass") if isinstance(overall, dict) else None, criteria,
        anchored_view(found.get("anchored")), _extras(found, KNOWN),
    )  # fmt: skip
