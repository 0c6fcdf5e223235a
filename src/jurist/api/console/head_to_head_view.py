"""The run page's "Head to head" panel: what ``GET /v1/evals/{eval_id}/runs/{run_id}/head_to_head``
answers of a head-to-head run (``services.experiments.head_to_head``, the same figures), as typed values:
the two runs compared (linked), the judge, the candidate's wins, ties and losses, its win rate, the tie
rate and the position consistency with their intervals, the sign test's p-value and the decision (with
about how many items would decide it when inconclusive), the items left out, and the win rate anchored
on human labels of the run's lines (judge only vs PPI++), or where to label them (the batch's review).

The answer is read defensively: a figure it lacks is "—"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jurist.api.console.compare_view import DECISION_BADGES, NONE, p_text
from jurist.composition import Services
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.service.evals.compare import Settings
from jurist.service.evals.head_to_head import SOURCE_TYPE
from jurist.store.eval_records import EvalRunRecord

DEFAULTS = Settings()  # the API's alpha and margin


def is_head_to_head(run: EvalRunRecord) -> bool:
    source = run.body.get("data_source")
    return isinstance(source, dict) and source.get("type") == SOURCE_TYPE


def _num(found: Mapping[str, JsonValue], key: str) -> float | None:
    value = found.get(key)
    return None if isinstance(value, bool) or not isinstance(value, int | float) else float(value)


def _int(found: Mapping[str, JsonValue], key: str) -> int:
    value = found.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _object(value: JsonValue) -> JSONObject:
    return value if isinstance(value, dict) else {}


def percent(x: float | None) -> str:
    return NONE if x is None else f"{100 * x:.1f}%"


@dataclass(frozen=True)
class RateView:
    """A proportion with its interval, over ``n`` items."""

    estimate: str
    ci: str
    n: int


def _rate(found: JsonValue) -> RateView | None:
    if not isinstance(found, dict):
        return None
    low, high = _num(found, "ci_low"), _num(found, "ci_high")
    ci = NONE if low is None or high is None else f"[{percent(low)}, {percent(high)}]"
    return RateView(percent(_num(found, "estimate")), ci, _int(found, "n"))


@dataclass(frozen=True)
class Estimate:
    """The win rate from the judge alone, or anchored on the labels (PPI++)."""

    estimate: str
    ci: str
    labelled: int
    effective: str  # labels a labels-only estimate would need for the same variance


def _estimate(found: JsonValue) -> Estimate | None:
    if not isinstance(found, dict):
        return None
    low, high = _num(found, "ci_low"), _num(found, "ci_high")
    ci = NONE if low is None or high is None else f"[{percent(low)}, {percent(high)}]"
    effective = _num(found, "effective_labels")
    return Estimate(
        percent(_num(found, "estimate")), ci, _int(found, "n_labeled"),
        NONE if effective is None else f"{effective:.1f}",
    )  # fmt: skip


@dataclass(frozen=True)
class RunLink:
    id: str
    name: str | None  # None: the run is gone
    url: str


@dataclass(frozen=True)
class HeadToHeadPanel:
    base: RunLink
    candidate: RunLink
    model: str
    alpha: str
    margin: str
    judged: int
    candidate_wins: int
    ties: int
    base_wins: int
    win_rate: RateView | None
    tie_rate: RateView | None
    consistency: RateView | None  # None: no item was judged in both orders
    p_value: str
    decision: str
    badge: str
    items_needed: int | None  # inconclusive only
    counts: dict[str, int]  # paired, only_in_base, only_in_candidate, errored
    labels: int
    judge_only: Estimate | None
    ppi: Estimate | None
    review_url: str | None  # where the run's lines are labelled (its batch's review)


async def _link(services: Services, tenant: str, eval_id: str, run_id: str) -> RunLink:
    found = await services.evals.store.get_run(tenant, eval_id, run_id) if run_id else None
    return RunLink(run_id, None if found is None else found.name, f"/console/evals/{eval_id}/runs/{run_id}")


def panel_view(found: JSONObject, base: RunLink, candidate: RunLink, batch_id: str | None) -> HeadToHeadPanel:
    """The panel of a head-to-head answer (``found``)."""
    items = _object(found.get("items"))
    decision = str(found.get("decision") or NONE)
    needed = found.get("items_needed")
    anchored = _object(found.get("anchored"))
    win_rate = _object(anchored.get("win_rate"))
    alpha, margin = _num(found, "alpha"), _num(found, "margin")
    return HeadToHeadPanel(
        base, candidate, str(found.get("model") or ""),
        NONE if alpha is None else f"{alpha:g}", NONE if margin is None else f"{margin:g}",
        _int(found, "n"), _int(found, "candidate_wins"), _int(found, "ties"), _int(found, "base_wins"),
        _rate(found.get("win_rate")), _rate(found.get("tie_rate")), _rate(found.get("position_consistency")),
        p_text(_num(found, "p_value")), decision, DECISION_BADGES.get(decision, "warn"),
        needed if decision == "inconclusive" and isinstance(needed, int) else None,
        {k: _int(items, k) for k in ("paired", "only_in_base", "only_in_candidate", "errored")},
        _int(anchored, "labels"), _estimate(win_rate.get("judge_only")), _estimate(win_rate.get("ppi")),
        None if batch_id is None else f"/console/batches/{batch_id}/review",
    )  # fmt: skip


async def head_to_head_panel(
    services: Services, tenant: str, eval_id: str, run: EvalRunRecord
) -> HeadToHeadPanel | None:
    """The panel of ``run`` when it is a head-to-head run (else None), at the API's alpha and margin."""
    if not is_head_to_head(run):
        return None
    found = await services.experiments.head_to_head(tenant, eval_id, run.id, DEFAULTS.alpha, DEFAULTS.margin)
    base = await _link(services, tenant, eval_id, str(found.get("base") or ""))
    candidate = await _link(services, tenant, eval_id, str(found.get("candidate") or ""))
    return panel_view(found, base, candidate, run.batch_id)
