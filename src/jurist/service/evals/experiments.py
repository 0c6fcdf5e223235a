"""Experiments over an eval's runs: head-to-head runs, their figures, a Bradley–Terry board across them,
and comparisons anchored on human labels (PPI++).

- ``create_head_to_head``: a run of the eval whose rows pair two runs' answers, judged pairwise in both
  orders (``head_to_head``).
- ``head_to_head``: a head-to-head run's win rate, tie rate, position consistency, sign test and
  decision (``evaluation.head_to_head``), and its win rate anchored on labels of its lines.
- ``leaderboard``: every head-to-head run of the eval as battles between runs, fitted by Bradley–Terry
  with the style control of ``evaluation.style_control`` (answer length and markdown held fixed) or
  without it.
(A comparison's figures anchored on labels: ``anchored``.)"""

from __future__ import annotations

import asyncio

from jurist.errors import InvalidRequest, NotFound
from jurist.evaluation.bradley_terry import leaderboard as plain_leaderboard
from jurist.evaluation.head_to_head import head_to_head
from jurist.evaluation.style_control import StyledBattle, answer_style, style_leaderboard
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.service.evals import anchored
from jurist.service.evals.anchoring import run_labels
from jurist.service.evals.definitions import check_metadata, check_name
from jurist.service.evals.head_to_head import SOURCE_TYPE, check_request, criterion, data_source, pair_rows
from jurist.service.evals.service import EvalService
from jurist.store.eval_records import EvalRunRecord, OutputItemRecord
from jurist.store.labels import LabelStore

PAGE = 1000
MAX_BOARD_RUNS = 200  # head-to-head runs read for one board


class ExperimentService:
    def __init__(self, evals: EvalService, labels: LabelStore) -> None:
        self.evals = evals
        self.labels = labels

    async def _items(self, tenant: str, run_id: str) -> list[OutputItemRecord]:
        items: list[OutputItemRecord] = []
        after: str | None = None
        while True:
            page = await self.evals.store.list_items(tenant, run_id, after, PAGE, "asc", None)
            items += page.items
            if not page.has_more or not page.items:
                return items
            after = page.items[-1].id

    # ------------------------------------------------------- head to head
    async def create_head_to_head(self, tenant: str, eval_id: str, body: JSONObject) -> EvalRunRecord:
        record = await self.evals.get(tenant, eval_id)
        request = check_request(body, self.evals.models)
        runs = []
        for param, run_id in (("base", request.base), ("candidate", request.candidate)):
            run = await self.evals.store.get_run(tenant, eval_id, run_id)
            if run is None:
                raise NotFound(f"No eval run found with id '{run_id}' in this eval.", param=param)
            run = await self.evals.get_run(tenant, eval_id, run_id)  # its status, from its batch
            if run.status in ("queued", "in_progress"):
                raise InvalidRequest(
                    f"Run {run_id} is {run.status}: a head-to-head judges finished runs' answers; start it "
                    "when the run has ended.",
                    param=param,
                    code="run_not_finished",
                )
            runs.append(run)
        sampled = runs[0].body.get("data_source")
        if request.question is None and not (
            isinstance(sampled, dict) and sampled.get("type") == "completions"
        ):
            raise InvalidRequest(
                "question is required: the base run was not sampled from messages, so say where each row's "
                "question is, e.g. '{{item.question}}'.",
                param="question",
            )
        items = [await self._items(tenant, run.id) for run in runs]
        if not items[0] or not items[1]:
            empty = "base" if not items[0] else "candidate"
            raise InvalidRequest(f"The {empty} run has no graded rows yet.", param=empty)
        rows, counts = pair_rows(request, items[0], items[1])
        if not rows:
            raise InvalidRequest("The two runs share no item.", param="candidate")
        own: JSONObject = {"testing_criteria": [criterion(request)], "head_to_head": counts}
        name = check_name(body.get("name")) or f"{runs[1].name} vs {runs[0].name}"
        metadata = check_metadata(body.get("metadata"))
        return await self.evals.start_run(tenant, record, name, metadata, data_source(request), rows, own)

    async def _head_to_head_run(self, tenant: str, eval_id: str, run_id: str) -> EvalRunRecord:
        run = await self.evals.get_run(tenant, eval_id, run_id)
        source = run.body.get("data_source")
        if not isinstance(source, dict) or source.get("type") != SOURCE_TYPE:
            raise InvalidRequest(
                f"Run {run_id} is not a head-to-head run (POST /v1/evals/{eval_id}/runs/head_to_head).",
                param="run_id",
            )
        return run

    async def head_to_head(
        self, tenant: str, eval_id: str, run_id: str, alpha: float, margin: float
    ) -> JSONObject:
        run = await self._head_to_head_run(tenant, eval_id, run_id)
        items = await self._items(tenant, run_id)
        wins: dict[int, float] = {}
        consistent: list[bool | None] = []
        for item in items:
            value, agreed = _judged(item)
            if value is not None:
                wins[item.index] = value
                consistent.append(agreed)
        figures = await asyncio.to_thread(
            head_to_head, list(wins.values()), consistent, alpha=alpha, margin=margin
        )
        source = run.body.get("data_source")
        assert isinstance(source, dict)
        truths = await run_labels(self.labels, run, pairwise=True)
        size = max([0, *wins]) + 1
        counts = run.body.get("head_to_head")
        return {
            "object": "eval.run.head_to_head",
            "run_id": run.id,
            "status": run.status,
            "base": source.get("base_run_id"),
            "candidate": source.get("candidate_run_id"),
            "model": source.get("model"),
            "alpha": alpha,
            "margin": margin,
            "items": {
                **(counts if isinstance(counts, dict) else {}),
                "judged": len(wins),
                "errored": len(items) - len(wins),
            },
            **figures.as_dict(),  # type: ignore[dict-item]
            "anchored": {
                "labels": sum(1 for row in wins if row in truths),
                "win_rate": anchored.figure(
                    anchored.dense(wins, size), anchored.dense(truths, size), alpha, (0.0, 1.0)
                ),
            },
        }

    async def leaderboard(self, tenant: str, eval_id: str, style: bool, rounds: int) -> JSONObject:
        await self.evals.get(tenant, eval_id)
        page = await self.evals.store.list_runs(tenant, eval_id, None, MAX_BOARD_RUNS, "asc", None)
        runs = {run.id: run for run in page.items}
        battles: list[StyledBattle] = []
        used: list[str] = []
        for run in page.items:
            source = run.body.get("data_source")
            if not isinstance(source, dict) or source.get("type") != SOURCE_TYPE:
                continue
            used.append(run.id)
            cand, base = str(source.get("candidate_run_id")), str(source.get("base_run_id"))
            for item in await self._items(tenant, run.id):
                value, _ = _judged(item)
                texts = _answers(item)
                if value is None or texts is None:
                    continue
                outcome = 1 if value == 1 else 2 if value == 0 else 0
                battles.append((cand, base, outcome, answer_style(texts[0]), answer_style(texts[1])))
        if not battles:
            raise InvalidRequest(
                "This eval has no judged head-to-head run yet: create one with "
                f"POST /v1/evals/{eval_id}/runs/head_to_head.",
                param="eval_id",
            )
        return await asyncio.to_thread(_board, battles, runs, used, style, rounds)


def _judged(item: OutputItemRecord) -> tuple[float | None, bool | None]:
    """A head-to-head item's win value for the candidate and whether both orders agreed."""
    results = item.body.get("results")
    result = results[0] if isinstance(results, list) and results else None
    if not isinstance(result, dict) or result.get("error") is not None:
        return None, None
    score = result.get("score")
    sample = result.get("sample")
    judgment = sample.get("judgment") if isinstance(sample, dict) else None
    swap = judgment.get("swap") if isinstance(judgment, dict) else None
    agreed = swap.get("consistent") if isinstance(swap, dict) else None
    value = float(score) if isinstance(score, int | float) and score in (0, 0.5, 1) else None
    return value, agreed if isinstance(agreed, bool) else None


def _answers(item: OutputItemRecord) -> tuple[str, str] | None:
    sample = item.body.get("sample")
    if not isinstance(sample, dict):
        return None
    texts = []
    for key in ("output", "base_output"):
        said = sample.get(key)
        first = said[0] if isinstance(said, list) and said else None
        content = first.get("content") if isinstance(first, dict) else None
        if not isinstance(content, str):
            return None
        texts.append(content)
    return texts[0], texts[1]


def _board(
    battles: list[StyledBattle], runs: dict[str, EvalRunRecord], used: list[str], style: bool, rounds: int
) -> JSONObject:
    if style:
        fit = style_leaderboard(battles, rounds=rounds)
        ratings, coefficients = fit.ratings, fit.coefficients
    else:
        ratings = plain_leaderboard([(a, b, o) for a, b, o, *_ in battles], rounds=rounds)
        coefficients = []

    def named(run_id: str) -> JsonValue:
        run = runs.get(run_id)
        return None if run is None else run.name

    return {
        "object": "eval.leaderboard",
        "style_control": style,
        "battles": len(battles),
        "head_to_head_runs": used,  # type: ignore[dict-item]
        "data": [
            {
                "run_id": r.model,
                "name": named(r.model),
                "rating": round(r.rating, 2),
                "ci_low": round(r.ci_low, 2),
                "ci_high": round(r.ci_high, 2),
                "battles": r.battles,
                "win_rate": round(r.win_rate, 4),
            }
            for r in ratings
        ],
        "style": [
            {"feature": c.feature, "coefficient": c.coefficient, "ci_low": c.ci_low, "ci_high": c.ci_high}
            for c in coefficients
        ],
    }
