"""``GET /v1/batches/compare?base=BATCH&candidate=BATCH`` (Jurist's extension): is the candidate batch
better than the base? Two judge batches of the caller's tenant compared line by line, paired by
``custom_id`` (``service.trust.batch_compare``, whose docstring says how lines are scored and passed).

Query: ``margin`` (0.02, in (0, 1)), ``alpha`` (0.05, in (0, 0.5]), ``criterion`` (only this one),
``threshold`` (single mode: the score a line passes at; default the middle of its score range),
``diffs`` (changed lines listed, 100). The route is registered before ``/v1/batches/{batch_id}``, so
"compare" is never read as a batch id.

The answer, written as plain JSON by the service, is documented in ``/openapi.json`` by
``BatchComparison`` below (a test validates real answers against it); its statistics are those of the
run comparison (``openapi_compare.PairedStatistics``)."""

from __future__ import annotations

import math
from typing import Literal

import orjson
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from jurist.api.deps import services_of, tenant_of
from jurist.api.openapi_compare import PairedStatistics
from jurist.api.params import int_param
from jurist.errors import InvalidRequest
from jurist.service.trust.batch_compare import DIFFS_SHOWN, PARAMS, BatchSettings

LineStatus = Literal["pass", "fail", "error"]


class BatchCriterionComparison(BaseModel):
    name: str = Field(description="A criterion named in the batches' judgments.")
    pass_: PairedStatistics = Field(alias="pass")
    score: PairedStatistics = Field(description="Scores rescaled to [0, 1] over the judgment's range.")
    errored: int = Field(description="Paired lines where this criterion was not scored in either batch.")


class BatchComparedItems(BaseModel):
    paired: int = Field(description="custom_ids in both batches.")
    only_in_base: int
    only_in_candidate: int
    errored: int = Field(description="Paired lines errored or unscored in either batch (left out).")
    improved: int = Field(description="Paired lines whose overall score rose.")
    regressed: int
    same: int


class BatchLineDiff(BaseModel):
    custom_id: str
    base: LineStatus
    candidate: LineStatus
    base_score: float | None = Field(
        description="The overall score as judged (pairwise: 1, 0.5 or 0 for a win, tie or loss of "
        "response_1)."
    )
    candidate_score: float | None
    base_verdicts: str = Field(description="P, F or E per criterion, in the order of ``criteria``.")
    candidate_verdicts: str


class BatchComparison(BaseModel):
    object: Literal["batch.comparison"] = "batch.comparison"
    base: str
    candidate: str
    complete: bool = Field(description="Both batches have completed.")
    mode: Literal["single", "pairwise"] | None = Field(description="The judgments' mode (null: none scored).")
    threshold: float | None = Field(
        description="The score a single-mode line passes at (null: the middle of its score range)."
    )
    margin: float
    alpha: float
    items: BatchComparedItems
    overall: PairedStatistics = Field(description="Pass/fail of the lines scored in both batches.")
    overall_score: PairedStatistics = Field(description="Their overall scores, rescaled to [0, 1].")
    criteria: list[BatchCriterionComparison]
    diffs: list[BatchLineDiff] = Field(description="Lines whose overall score changed: regressions first.")


def _number(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidRequest(f"Invalid '{name}': expected a number, got {raw[:40]!r}.", param=name) from None
    if not math.isfinite(value):
        raise InvalidRequest(f"Invalid '{name}': expected a finite number, got {raw[:40]!r}.", param=name)
    return value


async def compare_batches(request: Request) -> Response:
    services = services_of(request)
    tenant = (await tenant_of(request)).id
    query = request.query_params
    ids = {}
    for param in PARAMS:
        value = query.get(param)
        if not value:
            raise InvalidRequest(f"{param} must name a batch of yours.", param=param)
        ids[param] = value
    margin, alpha = _number(request, "margin"), _number(request, "alpha")
    settings = BatchSettings(
        margin=0.02 if margin is None else margin,
        alpha=0.05 if alpha is None else alpha,
        criterion=query.get("criterion") or None,
        threshold=_number(request, "threshold"),
        diffs=int_param(request, "diffs", DIFFS_SHOWN, 0, 10_000),
    )
    found = await services.batch_compare.compare(tenant, ids, settings)
    return Response(orjson.dumps(found), media_type="application/json")
