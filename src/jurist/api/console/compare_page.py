"""The console's comparison of two runs of an eval (``/console/evals/{eval_id}/compare?base=RUN&
candidate=RUN``; ``margin``, ``alpha``, ``criterion``, ``allow_mismatch`` as ``GET /v1/evals/{eval_id}/runs/
compare`` takes them, through the same ``EvalService.compare_runs`` and tenant rules): is the candidate
better? A decision per testing criterion and overall, each run's pass rate and mean score, the paired
delta with its interval, McNemar's or Wilcoxon's test with Holm's correction, and the changed rows to
browse (``compare_rows``), the regressed or the improved ones, each linked to its row in both runs.

Without two runs the page is the form (the eval's two latest runs chosen). Settings the comparison
refuses (a margin outside (0, 1), an alpha outside (0, 0.5], runs not graded alike) are the page with
the message, status 400 (runs not graded alike: with a link to compare them anyway). Another tenant's
eval or run, or a run of another eval, is the 404 page, as for the API.

With two runs chosen, the page offers to judge them head to head (``head_to_head_form``), posted to
``/console/evals/{eval_id}/head_to_head`` (the session's CSRF token checked first, ``session.page``):
the same use case as ``POST /v1/evals/{eval_id}/runs/head_to_head`` (``services.experiments.
create_head_to_head``). A run it starts: a redirect (303) to the new run's page, whose "Head to head"
panel shows its figures. A form it refuses (400: no question for runs with none of their own, the same
run twice, a bad template): this page again with the message and the form as given."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from jurist.api.console.batches import when
from jurist.api.console.compare_rows import SHOWS, diffs_page, diffs_wanted, parse_show
from jurist.api.console.compare_view import comparison_view
from jurist.api.console.evals_view import CriterionView, RunSummary, criteria_of, summary
from jurist.api.console.forms import read_form
from jurist.api.console.head_to_head_form import Posted, posted_values, start_body, start_form
from jurist.api.console.numbers import int_param
from jurist.api.console.session import page, tenant_of_page
from jurist.api.console.templating import pages_of
from jurist.api.deps import services_of
from jurist.errors import InvalidRequest
from jurist.service.evals.compare import Settings
from jurist.service.evals.service import EvalService
from jurist.service.validation import check_comparison
from jurist.store.eval_records import EvalRunRecord

RUN_CHOICES = 100  # the latest runs offered in the form
COMPARE_KEYS = ("base", "candidate", "margin", "alpha", "criterion", "allow_mismatch", "show")
MISMATCH = "runs_not_comparable"
DEFAULTS = Settings()


@dataclass(frozen=True)
class CompareForm:
    """The form's values as the caller gave them (shown again as given, also when refused)."""

    base: str
    candidate: str
    margin: str
    alpha: str
    criterion: str
    allow_mismatch: bool
    show: str = "all"

    def url(self, eval_id: str, **changed: str | int) -> str:
        """This comparison's page with some values changed (the defaults left out)."""
        params: dict[str, str | int] = {"base": self.base, "candidate": self.candidate}
        params |= {k: v for k, v in (("margin", self.margin), ("alpha", self.alpha)) if v}
        if self.criterion:
            params["criterion"] = self.criterion
        if self.allow_mismatch:
            params["allow_mismatch"] = "true"
        params |= {"show": self.show, **changed}
        kept = {k: v for k, v in params.items() if (k, v) not in (("show", "all"), ("offset", 0))}
        return f"/console/evals/{eval_id}/compare?" + urlencode(kept)


@dataclass(frozen=True)
class RunChoice:
    id: str
    label: str


def _number(raw: str, name: str, default: float) -> float:
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise InvalidRequest(f"{name} must be a number, got {shown!r}.", param=name) from None


def _form(query: Mapping[str, str]) -> CompareForm:
    raw = query.get("allow_mismatch", "")
    if raw not in ("", "true", "false"):
        raise InvalidRequest("allow_mismatch must be true or false.", param="allow_mismatch")
    return CompareForm(
        query.get("base", ""), query.get("candidate", ""), query.get("margin", "").strip(),
        query.get("alpha", "").strip(), query.get("criterion", ""), raw == "true",
    )  # fmt: skip


def _settings(form: CompareForm, diffs: int) -> Settings:
    margin, alpha = (
        _number(form.margin, "margin", DEFAULTS.margin),
        _number(form.alpha, "alpha", DEFAULTS.alpha),
    )
    check_comparison(margin, alpha)
    return Settings(margin, alpha, form.allow_mismatch, form.criterion or None, diffs)


def _label(run: EvalRunRecord) -> str:
    name = run.name if len(run.name) <= 60 else run.name[:60] + "…"
    return f"{name} · {run.status} · {when(run.created_at)[:16]} · {run.id}"


async def _choices(evals: EvalService, tenant: str, eval_id: str, chosen: list[str]) -> list[EvalRunRecord]:
    """The runs the form offers: the latest, and the chosen ones if older (the eval's runs only)."""
    runs = (await evals.list_runs(tenant, eval_id, None, RUN_CHOICES, "desc", None)).items
    known = {r.id for r in runs}
    for run_id in dict.fromkeys(chosen):
        if run_id and run_id not in known:
            found = await evals.store.get_run(tenant, eval_id, run_id)
            runs += [found] if found is not None else []
    return runs


@page
async def compare_page(request: Request) -> Response:
    return await compare_response(request, request.query_params)


async def compare_response(
    request: Request,
    query: Mapping[str, str],
    posted: Posted | None = None,
) -> Response:
    """The comparison page of ``query``'s runs and settings, its head-to-head form with its defaults or
    as ``posted`` (refused: then the page is a 400 with the message)."""
    tenant = tenant_of_page(request)
    evals = services_of(request).evals
    record = await evals.get(tenant.id, request.path_params["eval_id"])
    criteria = criteria_of(record)
    context: dict[str, object] = {"record": record, "criteria": criteria, "shows": SHOWS, "view": None,
                                  "error": None, "anyway_url": None}  # fmt: skip
    try:
        form = _form(query)
    except InvalidRequest as error:
        runs = await _choices(evals, tenant.id, record.id, [])
        return _render(
            request, CompareForm("", "", "", "", "", False), runs, {**context, "error": error}, 400, posted
        )
    runs = await _choices(evals, tenant.id, record.id, [form.base, form.candidate])
    if not (form.base and form.candidate):  # the form only: the two latest runs chosen
        if len(runs) >= 2:
            form = replace(form, base=form.base or runs[1].id, candidate=form.candidate or runs[0].id)
        return _render(request, form, runs, context, 200, posted, offer=False)
    try:
        show = parse_show(query.get("show", ""))
        offset = int_param(query.get("offset") or "0", "offset")
        form = replace(form, show=show)
        ids = {"base": form.base, "candidate": form.candidate}
        found = await evals.compare_runs(
            tenant.id, record.id, ids, _settings(form, diffs_wanted(show, offset))
        )
    except InvalidRequest as error:
        context["error"] = error
        if error.code == MISMATCH:
            context["anyway_url"] = form.url(record.id, allow_mismatch="true")
        return _render(request, form, runs, context, 400, posted)
    by_id = {r.id: r for r in runs}
    pair = [by_id.get(form.base), by_id.get(form.candidate)]
    context["runs_compared"] = [await _summary(evals, r, criteria) for r in pair]
    context["view"] = comparison_view(found)
    context["diffs"] = await diffs_page(
        evals, tenant.id, record.id, (form.base, form.candidate), found, criteria, show, offset
    )
    return _render(request, form, runs, context, 200, posted)


async def _summary(
    evals: EvalService, run: EvalRunRecord | None, criteria: Sequence[CriterionView]
) -> RunSummary | None:
    return None if run is None else summary(run, criteria, await evals.store.counts(run.id))


def _render(
    request: Request,
    form: CompareForm,
    runs: list[EvalRunRecord],
    context: dict[str, object],
    status: int = 200,
    posted: Posted | None = None,
    offer: bool = True,
) -> Response:
    """The page; the head-to-head form when two runs were chosen (``offer``) or one was posted."""
    choices = [RunChoice(r.id, _label(r)) for r in runs]
    base_run = next((r for r in runs if r.id == form.base), None)
    eval_id = request.path_params["eval_id"]
    models = services_of(request).evals.models
    start = None
    if offer or posted:
        start = start_form(eval_id, form.base, form.candidate, base_run, models, posted)
    return pages_of(request).render(
        request, "compare.html", status=400 if posted else status, section="evals", form=form,
        choices=choices, defaults=DEFAULTS, start=start, **context,
    )  # fmt: skip


@page
async def start_head_to_head(request: Request) -> Response:
    """The head-to-head form's action (``head_to_head_form``): a new run's page, or this page again."""
    tenant = tenant_of_page(request)
    eval_id = request.path_params["eval_id"]
    values = posted_values(await read_form(request))
    try:
        body = start_body(values)
        run = await services_of(request).experiments.create_head_to_head(tenant.id, eval_id, body)
    except InvalidRequest as error:
        query = {k: values[k] for k in COMPARE_KEYS if values[k]}  # the comparison the form was on
        return await compare_response(request, query, Posted(values, error))
    return RedirectResponse(f"/console/evals/{eval_id}/runs/{run.id}", status_code=303)


ROUTES = [
    Route("/evals/{eval_id}/compare", compare_page, methods=["GET"]),
    Route("/evals/{eval_id}/head_to_head", start_head_to_head, methods=["POST"]),
]
