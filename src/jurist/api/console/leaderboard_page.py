"""``/console/evals/{eval_id}/leaderboard?style_control=true|false``: the Bradley–Terry board of the runs
met in the eval's head-to-head runs, as ``GET /v1/evals/{eval_id}/leaderboard`` answers it (the same
``services.experiments.leaderboard``, its default bootstrap rounds and tenant rules): each run's rank,
rating with its interval, battles and win rate; with style control (the default) answer length and
markdown held fixed, their coefficients shown; the head-to-head runs it is fitted on.

An eval with no judged head-to-head run yet is a page saying so and how to start one (the API's 400);
another tenant's eval is the 404 page."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jurist.api.console.compare_view import NONE
from jurist.api.console.head_to_head_view import is_head_to_head, percent
from jurist.api.console.session import page, tenant_of_page
from jurist.api.console.templating import pages_of
from jurist.api.deps import services_of
from jurist.errors import InvalidRequest
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.service.evals.experiments import MAX_BOARD_RUNS
from jurist.store.eval_records import EvalRunRecord

ROUNDS = 200  # bootstrap rounds of the intervals (the API's default)
FEATURES = {"length": "answer length", "headers": "markdown headers", "bold": "bold text",
            "lists": "list items"}  # fmt: skip


@dataclass(frozen=True)
class Rating:
    rank: int
    run_id: str
    name: str | None  # None: the run is gone
    rating: str
    ci: str
    battles: int
    win_rate: str


@dataclass(frozen=True)
class Coefficient:
    feature: str
    described: str
    coefficient: str
    ci: str


@dataclass(frozen=True)
class PairRun:
    """A head-to-head run of the eval: the runs it pairs and whether the board uses it."""

    record: EvalRunRecord
    base: str
    candidate: str
    used: bool


def _num(value: JsonValue, digits: int) -> str:
    return NONE if isinstance(value, bool) or not isinstance(value, int | float) else f"{value:.{digits}f}"


def _ci(found: JSONObject, digits: int) -> str:
    low, high = _num(found.get("ci_low"), digits), _num(found.get("ci_high"), digits)
    return NONE if NONE in (low, high) else f"[{low}, {high}]"


def ratings_of(found: JSONObject) -> list[Rating]:
    data = found.get("data")
    rows = [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []
    out = []
    for k, r in enumerate(rows, 1):
        battles, name, win = r.get("battles"), r.get("name"), r.get("win_rate")
        out.append(Rating(
            k, str(r.get("run_id") or ""), name if isinstance(name, str) else None,
            _num(r.get("rating"), 1), _ci(r, 1), battles if isinstance(battles, int) else 0,
            percent(float(win)) if isinstance(win, int | float) else NONE,
        ))  # fmt: skip
    return out


def coefficients_of(found: JSONObject) -> list[Coefficient]:
    style = found.get("style")
    rows = [c for c in style if isinstance(c, dict)] if isinstance(style, list) else []
    out = []
    for c in rows:
        feature = str(c.get("feature") or "")
        described = FEATURES.get(feature, feature)
        out.append(Coefficient(feature, described, _num(c.get("coefficient"), 3), _ci(c, 3)))
    return out


def _style(request: Request) -> bool:
    raw = request.query_params.get("style_control", "")
    if raw not in ("", "true", "false"):
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise InvalidRequest(f"style_control must be true or false, got {shown!r}.", param="style_control")
    return raw != "false"


def _pair_runs(runs: list[EvalRunRecord], used: set[str]) -> list[PairRun]:
    names = {r.id: r.name for r in runs}
    out = []
    for run in runs:
        if not is_head_to_head(run):
            continue
        source = run.body.get("data_source")
        assert isinstance(source, dict)
        ids = [str(source.get(k) or "") for k in ("base_run_id", "candidate_run_id")]
        base, candidate = (names.get(i, i) for i in ids)
        out.append(PairRun(run, base, candidate, run.id in used))
    return out


@page
async def leaderboard(request: Request) -> Response:
    tenant = tenant_of_page(request)
    services = services_of(request)
    record = await services.evals.get(tenant.id, request.path_params["eval_id"])
    style = _style(request)
    runs = (await services.evals.list_runs(tenant.id, record.id, None, MAX_BOARD_RUNS, "asc", None)).items
    try:
        found: JSONObject | None = await services.experiments.leaderboard(tenant.id, record.id, style, ROUNDS)
    except InvalidRequest as error:
        if error.param != "eval_id":
            raise
        found = None  # no judged head-to-head run yet: the page says so
    used = found.get("head_to_head_runs") if found is not None else None
    battles = found.get("battles") if found is not None else None
    return pages_of(request).render(
        request, "leaderboard.html", section="evals", record=record, style=style, found=found is not None,
        ratings=ratings_of(found) if found else [], coefficients=coefficients_of(found) if found else [],
        battles=battles if isinstance(battles, int) else 0, rounds=ROUNDS,
        pair_runs=_pair_runs(runs, {str(u) for u in used} if isinstance(used, list) else set()),
    )  # fmt: skip


ROUTES = [Route("/evals/{eval_id}/leaderboard", leaderboard, methods=["GET"])]
