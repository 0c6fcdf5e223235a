"""Batch reports: the figures of a batch's output file, joined to its input file by ``custom_id``.

Pure computation. Feed parsed JSONL lines (input, output and error lines, in any order) to a
``ReportBuilder`` and call ``build()`` for a JSON-able dict; reading files is the caller's business.
The builder keeps a few numbers per line, never the lines themselves.

- Single mode: the distribution of overall scores, the mean overall score and per-criterion means
  with bootstrap CIs (N/A criterion scores are left out of the means and counted).
- Pairwise mode: win/tie/loss of response 1 (``answer1``) and its win rate (a tie = half a win) with a
  bootstrap CI, per-criterion means of both responses, and, when the input lines name the competitors
  (``metadata.model_a`` = answer1's model, ``metadata.model_b`` = answer2's), a Bradley–Terry
  leaderboard on the Elo scale (Arena-Hard's recipe): one battle per line from its (reconciled)
  verdict, a tie counted as half a win for each side, CIs from resampling the battles.
- Judge health: parse-failure rate (judgments with ``scored: false``), swap consistency, P(first shown
  wins), P(longer wins), and the mean ensemble agreement when the judgments carry one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jurist.evaluation.bradley_terry import Battle, leaderboard
from jurist.evaluation.metrics import bootstrap_ratio_ci
from jurist.evaluation.report_lines import (
    FIRST_SHOWN,
    Competitors,
    PairLine,
    SingleLine,
    competitors,
    failure_code,
    number,
    pair_line,
    single_line,
)

TIE_HANDLING = "a tie counts as half a win for each side (win rates and the Bradley–Terry fit)"
LEADERBOARD_METHOD = (
    "Bradley–Terry (MM fit, Elo scale, mean 1000); one battle per line from its reconciled verdict; "
    "percentile-bootstrap CIs over resampled battles"
)


def _mean_ci(values: list[float], rounds: int, seed: int, level: float, name: str = "mean") -> dict[str, Any]:
    """``{name: mean, "ci": [low, high], "n"}``; mean and CI are None when there are no values."""
    array = np.asarray(values, dtype=float)
    mean = float(array.mean()) if len(array) else None
    return {name: mean, "ci": bootstrap_ratio_ci(array, reps=rounds, seed=seed, level=level), "n": len(array)}


def _rate(hits: list[float], rounds: int, seed: int, level: float) -> dict[str, Any] | None:
    """The share of 1s among 0/1 outcomes with its CI, or None without outcomes."""
    return _mean_ci(hits, rounds, seed, level, name="rate") if hits else None


@dataclass
class ReportBuilder:
    """Accumulates lines; ``build()`` computes the report (bootstrap CIs included)."""

    inputs: dict[str, Competitors] = field(default_factory=dict)
    input_lines: int = 0
    total: int = 0
    failed: int = 0
    malformed: int = 0
    without_judgment: int = 0
    failure_codes: Counter[str] = field(default_factory=Counter)
    judge_models: Counter[str] = field(default_factory=Counter)
    parsed_by: Counter[str] = field(default_factory=Counter)
    agreement: list[float] = field(default_factory=list)
    singles: list[SingleLine] = field(default_factory=list)
    pairs: list[PairLine] = field(default_factory=list)

    def add_input(self, line: Any) -> None:
        self.input_lines += 1
        if isinstance(line, dict) and isinstance(line.get("custom_id"), str):
            self.inputs[line["custom_id"]] = competitors(line)

    def add_error(self, line: Any) -> None:
        """A line of the batch's error file: a request that failed after its retries."""
        self.total += 1
        self.failed += 1
        self.failure_codes[failure_code(line)] += 1

    def add_output(self, line: Any) -> None:
        self.total += 1
        if not isinstance(line, dict):
            self.malformed += 1
            return
        response = line.get("response")
        status = response.get("status_code") if isinstance(response, dict) else None
        if line.get("error") or status != 200 or not isinstance(response, dict):
            self.failed += 1
            self.failure_codes[failure_code(line)] += 1
            return
        body = response.get("body")
        judgment = body.get("judgment") if isinstance(body, dict) else None
        if isinstance(body, dict) and isinstance(body.get("model"), str):
            self.judge_models[body["model"]] += 1
        if not isinstance(judgment, dict) or judgment.get("mode") not in ("single", "pairwise"):
            self.without_judgment += 1
            return
        self.parsed_by[str(judgment.get("parsed_by"))] += 1
        ensemble = judgment.get("ensemble")
        agreement = number(ensemble.get("agreement")) if isinstance(ensemble, dict) else None
        if agreement is not None:
            self.agreement.append(agreement)
        custom_id = line.get("custom_id")
        if judgment["mode"] == "single":
            self.singles.append(single_line(judgment))
        else:
            self.pairs.append(pair_line(judgment, custom_id if isinstance(custom_id, str) else None))

    def build(self, rounds: int = 1000, seed: int = 0, level: float = 0.95) -> dict[str, Any]:
        notes: list[str] = []
        judged = len(self.singles) + len(self.pairs)
        unscored = sum(not s.scored for s in self.singles) + sum(not p.scored for p in self.pairs)
        report: dict[str, Any] = {
            "lines": {
                "total": self.total,
                "succeeded": self.total - self.failed - self.malformed,
                "failed": self.failed,
                "malformed": self.malformed,
                "without_judgment": self.without_judgment,
                "judged": judged,
                "single": len(self.singles),
                "pairwise": len(self.pairs),
                "inputs": self.input_lines if self.input_lines else None,
            },
            "failures_by_code": dict(self.failure_codes.most_common()),
            "judge_models": dict(self.judge_models.most_common()),
            "single": _single_section(self.singles, rounds, seed, level) if self.singles else None,
            "pairwise": None,
            "health": {
                "parse_failures": unscored,
                "parse_failure_rate": unscored / judged if judged else None,
                "parsed_by": dict(self.parsed_by.most_common()),
                "swap_consistency": None,
                "first_shown_wins": None,
                "longer_wins": None,
                "ensemble_agreement": {"mean": float(np.mean(self.agreement)), "n": len(self.agreement)}
                if self.agreement
                else None,
            },
            "method": {
                "bootstrap_rounds": rounds,
                "seed": seed,
                "ci_level": level,
                "ties": TIE_HANDLING,
                "leaderboard": LEADERBOARD_METHOD,
            },
            "notes": notes,
        }
        if self.without_judgment:
            notes.append(f"{self.without_judgment} line(s) carry no judgment (custom templates): skipped.")
        if self.pairs:
            report["pairwise"] = _pair_section(self, rounds, seed, level, notes)
            _pair_health(self, report["health"], rounds, seed, level, notes)
        return report


def _single_section(singles: list[SingleLine], rounds: int, seed: int, level: float) -> dict[str, Any]:
    scored = [s for s in singles if s.scored and s.overall is not None]
    low = min(s.low for s in singles)
    high = max(s.high for s in singles)
    counts = Counter(int(s.overall) for s in scored if s.overall is not None)
    distribution = [
        {"score": v, "count": counts.get(v, 0), "share": counts.get(v, 0) / len(scored) if scored else None}
        for v in range(low, high + 1)
    ]
    by_name: dict[str, list[float | None]] = {}
    for s in scored:
        for name, score in s.criteria:
            by_name.setdefault(name, []).append(score)
    criteria = []
    for name, scores in by_name.items():
        values = [v for v in scores if v is not None]
        entry = _mean_ci(values, rounds, seed, level)
        criteria.append({"name": name, **entry, "not_applicable": len(scores) - len(values)})
    expected = [s.expected for s in scored if s.expected is not None]
    return {
        "n": len(singles),
        "scored": len(scored),
        "unscored": len(singles) - len(scored),
        "score_range": [low, high],
        "distribution": distribution,
        "overall": _mean_ci([s.overall for s in scored if s.overall is not None], rounds, seed, level),
        "criteria": criteria,
        "expected_score": {"mean": float(np.mean(expected)), "n": len(expected)} if expected else None,
    }


def _pair_section(
    builder: ReportBuilder, rounds: int, seed: int, level: float, notes: list[str]
) -> dict[str, Any]:
    pairs = builder.pairs
    decided = [p for p in pairs if p.scored and p.winner in ("response_1", "response_2", "tie")]
    outcomes = Counter(p.winner for p in decided)
    points = [1.0 if p.winner == "response_1" else 0.5 if p.winner == "tie" else 0.0 for p in decided]
    by_name: dict[str, tuple[list[float], list[float]]] = {}
    for p in decided:
        for name, s1, s2 in p.criteria:
            one, two = by_name.setdefault(name, ([], []))
            if s1 is not None:
                one.append(s1)
            if s2 is not None:
                two.append(s2)
    criteria = [
        {
            "name": name,
            "response_1": _mean_ci(one, rounds, seed, level),
            "response_2": _mean_ci(two, rounds, seed, level),
        }
        for name, (one, two) in by_name.items()
    ]
    expected = [p.expected for p in decided if p.expected is not None]
    win = _rate(points, rounds, seed, level)
    return {
        "n": len(pairs),
        "scored": len(decided),
        "unscored": len(pairs) - len(decided),
        "outcomes": {
            "response_1": outcomes.get("response_1", 0),
            "tie": outcomes.get("tie", 0),
            "response_2": outcomes.get("response_2", 0),
        },
        "win_rate": win["rate"] if win else None,
        "win_rate_ci": win["ci"] if win else None,
        "criteria": criteria,
        "expected_score": {
            "response_1": float(np.mean([e[0] for e in expected])),
            "response_2": float(np.mean([e[1] for e in expected])),
            "n": len(expected),
        }
        if expected
        else None,
        "leaderboard": _leaderboard(builder, decided, rounds, seed, level, notes),
    }


def _leaderboard(
    builder: ReportBuilder, decided: list[PairLine], rounds: int, seed: int, level: float, notes: list[str]
) -> list[dict[str, Any]] | None:
    if not builder.inputs:
        notes.append("No leaderboard: it needs the input file (metadata model_a / model_b on its lines).")
        return None
    battles: list[Battle] = []
    for p in decided:
        who = builder.inputs.get(p.custom_id) if p.custom_id is not None else None
        if who is None or who.model_a is None or who.model_b is None or who.model_a == who.model_b:
            continue
        outcome = 1 if p.winner == "response_1" else 2 if p.winner == "response_2" else 0
        battles.append((who.model_a, who.model_b, outcome))
    if len({m for a, b, _ in battles for m in (a, b)}) < 2:
        notes.append(
            "No leaderboard: no scored pairwise line names two different competitors "
            "(metadata model_a and model_b on the input line)."
        )
        return None
    if len(battles) < len(decided):
        notes.append(
            f"Leaderboard over the {len(battles)} of {len(decided)} scored pairwise lines that name "
            "both competitors."
        )
    return [
        {
            "model": r.model,
            "rating": r.rating,
            "ci": [r.ci_low, r.ci_high],
            "battles": r.battles,
            "win_rate": r.win_rate,
        }
        for r in leaderboard(battles, rounds=max(1, rounds), seed=seed, level=level)
    ]


def _pair_health(
    builder: ReportBuilder, health: dict[str, Any], rounds: int, seed: int, level: float, notes: list[str]
) -> None:
    consistent = [1.0 if p.consistent else 0.0 for p in builder.pairs if p.consistent is not None]
    health["swap_consistency"] = _rate(consistent, rounds, seed, level)
    if not consistent:
        notes.append("No swap consistency: no pairwise line was judged in both orders (swap).")
    # P(first shown wins): decisive games, each with the order it was shown in; lines resampled whole.
    firsts, decisive = [], []
    for p in builder.pairs:
        games = [(order, w) for order, w in p.games if w in ("response_1", "response_2")]
        if games:
            firsts.append(sum(w == FIRST_SHOWN[order] for order, w in games))
            decisive.append(len(games))
    if decisive:
        num, den = np.asarray(firsts, dtype=float), np.asarray(decisive, dtype=float)
        health["first_shown_wins"] = {
            "rate": float(num.sum() / den.sum()),
            "ci": bootstrap_ratio_ci(num, den, reps=rounds, seed=seed, level=level),
            "n": int(den.sum()),
        }
    if not builder.inputs:
        notes.append("No P(longer wins): it needs the input file (the answers' lengths).")
        return
    longer: list[float] = []
    for p in builder.pairs:
        who = builder.inputs.get(p.custom_id) if p.custom_id is not None else None
        if not p.scored or p.winner not in ("response_1", "response_2") or who is None:
            continue
        if who.length_1 is None or who.length_2 is None or who.length_1 == who.length_2:
            continue
        longer_side = "response_1" if who.length_1 > who.length_2 else "response_2"
        longer.append(1.0 if p.winner == longer_side else 0.0)
    health["longer_wins"] = _rate(longer, rounds, seed, level)


def build_report(
    outputs: Iterable[Any],
    inputs: Iterable[Any] | None = None,
    errors: Iterable[Any] | None = None,
    *,
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """The report of iterables of parsed lines (outputs, and optionally the inputs and error lines)."""
    builder = ReportBuilder()
    for line in inputs or ():
        builder.add_input(line)
    for line in outputs:
        builder.add_output(line)
    for line in errors or ():
        builder.add_error(line)
    return builder.build(rounds, seed, level)
