"""Several games for one item: both orders of a pair (``swap``) and/or ``samples`` draws, run
concurrently and aggregated by ``judging.ensemble``.

Sample 0 runs at the request's temperature (0 by default, so a one-sample judge is deterministic);
samples 1..N-1 run at the model's ``sample_temperature`` (or the request's, when above 0) with seeds
``seed + s``, so an ensemble is reproducible on the embedded model and cacheable as a whole.
Calls per item: ``samples × (2 if swap else 1)`` (+1 for each verdict that needs a repair re-ask).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from jurist.backends.base import Backend, GenerationRequest
from jurist.judging.ensemble import aggregate_pairwise, aggregate_single, mean
from jurist.judging.items import JudgeItem, PairwiseItem
from jurist.judging.prompts import JudgeTask
from jurist.judging.reconcile import swapped, unswap
from jurist.judging.render import render
from jurist.judging.verdict import PairwiseVerdict, SingleVerdict, Unscored, judgment_object
from jurist.service.judge import JudgeOutcome, expected_score_field, run_judgment

Order = Literal["as_given", "swapped"]
_FLIPPED_KEYS = {"response_1_score": "response_2_score", "response_2_score": "response_1_score"}


@dataclass(frozen=True)
class EnsemblePlan:
    samples: int = 1
    swap: bool = False
    sample_temperature: float = 0.7
    seed: int = 0

    @property
    def calls(self) -> int:
        return self.samples * (2 if self.swap else 1)


@dataclass(frozen=True)
class _Game:
    order: Order
    sample: int
    outcome: JudgeOutcome
    verdict: Any  # in the caller's order
    expected: dict[str, float] | None  # in the caller's order


def _sample_request(request: GenerationRequest, plan: EnsemblePlan, sample: int) -> GenerationRequest:
    if sample == 0:
        return request
    hot = request.temperature if request.temperature else plan.sample_temperature
    base_seed = plan.seed if request.seed is None else request.seed
    return dataclasses.replace(request, temperature=hot, seed=base_seed + sample)


async def _play(
    task: JudgeTask, order: Order, sample: int, backend: Backend, request: GenerationRequest
) -> _Game:
    generation = dataclasses.replace(request, messages=task.messages, json_schema=task.schema)
    outcome = await run_judgment(task, backend, generation)
    verdict, expected = outcome.verdict, outcome.expected
    if order == "swapped":
        if isinstance(verdict, PairwiseVerdict):
            verdict = unswap(verdict)
        if expected is not None:
            expected = {_FLIPPED_KEYS[k]: v for k, v in expected.items()}
    return _Game(order, sample, outcome, verdict, expected)


def _game_object(game: _Game) -> dict[str, Any]:
    assert game.outcome.info is not None
    body = judgment_object(game.verdict, game.outcome.info)
    if game.expected is not None:
        body["expected_score"] = expected_score_field(game.expected)
    return {"order": game.order, "sample": game.sample, **body}


def _mean_expected(games: list[_Game]) -> dict[str, float] | None:
    known = [g.expected for g in games if g.expected is not None]
    if not known:
        return None
    means = {key: mean([e[key] for e in known]) for key in known[0]}
    return {k: v for k, v in means.items() if v is not None}


async def run_ensemble(
    item: JudgeItem,
    build: Callable[[JudgeItem], JudgeTask],
    backend: Backend,
    request: GenerationRequest,
    plan: EnsemblePlan,
) -> JudgeOutcome:
    swap = plan.swap and isinstance(item, PairwiseItem)
    tasks: list[tuple[JudgeTask, Order]] = [(build(item), "as_given")]
    if swap:
        assert isinstance(item, PairwiseItem)
        tasks.append((build(swapped(item)), "swapped"))
    games = await asyncio.gather(
        *(
            _play(task, order, s, backend, _sample_request(request, plan, s))
            for s in range(plan.samples)
            for task, order in tasks
        )
    )
    head = tasks[0][0]
    infos = [g.outcome.info for g in games]
    assert all(i is not None for i in infos) and infos[0] is not None
    info = dataclasses.replace(infos[0], attempts=sum(i.attempts for i in infos if i is not None))
    extra: dict[str, Any] = {}
    if head.mode == "pairwise":
        agg = aggregate_pairwise(
            [g.verdict for g in games if g.order == "as_given"],
            [g.verdict for g in games if g.order == "swapped"],
        )
        verdict: PairwiseVerdict | SingleVerdict | Unscored = agg.verdict
        votes: dict[str, int] = {str(k): n for k, n in agg.votes.items()}
        agreement = agg.agreement
        means: dict[str, Any] = {"mean_scores": agg.mean_scores}
        if swap:
            extra["swap"] = {
                "consistent": agg.consistent,
                "rule": "disagreement_is_tie",
                "mean_scores": agg.mean_scores,
                "games": [_game_object(g) for g in games],
            }
    else:
        single = aggregate_single([g.verdict for g in games])
        verdict = single.verdict
        votes = {str(score): n for score, n in single.votes.items()}
        agreement, means = single.agreement, {"mean_score": single.mean_score}
    if plan.samples > 1:
        extra["ensemble"] = {
            "samples": plan.samples,
            "total_games": len(games),
            "scored_games": sum(1 for g in games if not isinstance(g.verdict, Unscored)),
            "votes": votes,
            "agreement": agreement,
            **means,
        }
        if not swap:
            extra["ensemble"]["games"] = [_game_object(g) for g in games]
    if isinstance(verdict, Unscored):
        info.parsed_by = "unscored"
    judgment = judgment_object(verdict, info)
    expected = _mean_expected(list(games)) if not isinstance(verdict, Unscored) else None
    if expected:
        judgment["expected_score"] = expected_score_field(expected)
    judgment.update(extra)
    return JudgeOutcome(
        text=render(verdict, head.mode, head.scale, head.language),
        judgment=judgment,
        verdict=verdict,
        prompt_tokens=sum(g.outcome.prompt_tokens for g in games),
        completion_tokens=sum(g.outcome.completion_tokens for g in games),
        finish_reason="stop",
        info=info,
        expected=expected,
    )
