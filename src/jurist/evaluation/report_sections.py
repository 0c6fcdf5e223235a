"""The figures of a batch report, from the few numbers kept per line (``report_lines``): the single
section, the pairwise section (with its Bradley–Terry leaderboards, plain and style-controlled) and the
pairwise judge-health figures. Every CI is a percentile bootstrap with the report's rounds, seed and
level. A figure that cannot be computed is None, and says why in ``notes``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from jurist.evaluation.bradley_terry import Battle, Rating, leaderboard
from jurist.evaluation.metrics import bootstrap_ratio_ci
from jurist.evaluation.report_lines import FIRST_SHOWN, Competitors, PairLine, SingleLine
from jurist.evaluation.report_model import (
    CI,
    CriterionMean,
    LeaderboardRow,
    Mean,
    MeanCI,
    Outcomes,
    PairCriterionMeans,
    PairExpectedMeans,
    PairwiseSection,
    RateCI,
    ScoreCount,
    SingleSection,
    StyleCoefficientRow,
    StyleControlled,
)
from jurist.evaluation.style_control import StyledBattle, style_leaderboard
from jurist.protocol.judgment import WINNERS


@dataclass(frozen=True)
class Bootstrap:
    """How every CI of a report is drawn: a percentile bootstrap of ``rounds`` resamples."""

    rounds: int
    seed: int
    level: float

    def ci(self, numerators: np.ndarray, denominators: np.ndarray | None = None) -> CI | None:
        return bootstrap_ratio_ci(
            numerators, denominators, reps=self.rounds, seed=self.seed, level=self.level
        )

    def mean(self, values: list[float]) -> MeanCI:
        """The mean and its CI; both None when there are no values."""
        array = np.asarray(values, dtype=float)
        return MeanCI(mean=float(array.mean()) if len(array) else None, ci=self.ci(array), n=len(array))

    def rate(self, hits: list[float]) -> RateCI | None:
        """The share of 1s among 0/1 outcomes with its CI, or None without outcomes."""
        if not hits:
            return None
        array = np.asarray(hits, dtype=float)
        return RateCI(rate=float(array.mean()), ci=self.ci(array), n=len(array))


def single_section(singles: list[SingleLine], boot: Bootstrap) -> SingleSection:
    scored = [s for s in singles if s.scored and s.overall is not None]
    low = min(s.low for s in singles)
    high = max(s.high for s in singles)
    counts = Counter(int(s.overall) for s in scored if s.overall is not None)
    distribution = [
        ScoreCount(score=v, count=counts.get(v, 0), share=counts.get(v, 0) / len(scored) if scored else None)
        for v in range(low, high + 1)
    ]
    by_name: dict[str, list[float | None]] = {}
    for s in scored:
        for name, score in s.criteria:
            by_name.setdefault(name, []).append(score)
    criteria = []
    for name, scores in by_name.items():
        values = [v for v in scores if v is not None]
        figure = boot.mean(values)
        criteria.append(
            CriterionMean(
                name=name,
                mean=figure.mean,
                ci=figure.ci,
                n=figure.n,
                not_applicable=len(scores) - len(values),
            )
        )
    expected = [s.expected for s in scored if s.expected is not None]
    return SingleSection(
        n=len(singles),
        scored=len(scored),
        unscored=len(singles) - len(scored),
        score_range=(low, high),
        distribution=distribution,
        overall=boot.mean([s.overall for s in scored if s.overall is not None]),
        criteria=criteria,
        expected_score=Mean(mean=float(np.mean(expected)), n=len(expected)) if expected else None,
    )


def pairwise_section(
    pairs: list[PairLine], inputs: dict[str, Competitors], boot: Bootstrap, notes: list[str]
) -> PairwiseSection:
    decided = [p for p in pairs if p.scored and p.winner in WINNERS]
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
        PairCriterionMeans(name=name, response_1=boot.mean(one), response_2=boot.mean(two))
        for name, (one, two) in by_name.items()
    ]
    expected = [p.expected for p in decided if p.expected is not None]
    win = boot.rate(points)
    board, style_controlled = _leaderboards(inputs, decided, boot, notes)
    return PairwiseSection(
        n=len(pairs),
        scored=len(decided),
        unscored=len(pairs) - len(decided),
        outcomes=Outcomes(
            response_1=outcomes.get("response_1", 0),
            tie=outcomes.get("tie", 0),
            response_2=outcomes.get("response_2", 0),
        ),
        win_rate=win.rate if win else None,
        win_rate_ci=win.ci if win else None,
        criteria=criteria,
        expected_score=PairExpectedMeans(
            response_1=float(np.mean([e[0] for e in expected])),
            response_2=float(np.mean([e[1] for e in expected])),
            n=len(expected),
        )
        if expected
        else None,
        leaderboard=board,
        style_controlled=style_controlled,
    )


def _rows(ratings: list[Rating]) -> list[LeaderboardRow]:
    return [
        LeaderboardRow(
            model=r.model, rating=r.rating, ci=(r.ci_low, r.ci_high), battles=r.battles, win_rate=r.win_rate
        )
        for r in ratings
    ]


def _leaderboards(
    inputs: dict[str, Competitors], decided: list[PairLine], boot: Bootstrap, notes: list[str]
) -> tuple[list[LeaderboardRow] | None, StyleControlled | None]:
    """(the plain leaderboard, the style-controlled one); each None with a note saying why."""
    if not inputs:
        notes.append("No leaderboard: it needs the input file (metadata model_a / model_b on its lines).")
        return None, None
    battles: list[Battle] = []
    styled: list[StyledBattle] = []
    for p in decided:
        who = inputs.get(p.custom_id) if p.custom_id is not None else None
        if who is None or who.model_a is None or who.model_b is None or who.model_a == who.model_b:
            continue
        outcome = 1 if p.winner == "response_1" else 2 if p.winner == "response_2" else 0
        battles.append((who.model_a, who.model_b, outcome))
        if who.style_1 is not None and who.style_2 is not None:
            styled.append((who.model_a, who.model_b, outcome, who.style_1, who.style_2))
    if len({m for a, b, _ in battles for m in (a, b)}) < 2:
        notes.append(
            "No leaderboard: no scored pairwise line names two different competitors "
            "(metadata model_a and model_b on the input line)."
        )
        return None, None
    if len(battles) < len(decided):
        notes.append(
            f"Leaderboard over the {len(battles)} of {len(decided)} scored pairwise lines that name "
            "both competitors."
        )
    rounds = max(1, boot.rounds)
    board = _rows(leaderboard(battles, rounds=rounds, seed=boot.seed, level=boot.level))
    if len({m for a, b, *_ in styled for m in (a, b)}) < 2:
        notes.append(
            "No style-controlled leaderboard: it needs the answers' texts (answer1 / answer2 of the "
            "pairwise item on the input lines)."
        )
        return board, None
    if len(styled) < len(battles):
        notes.append(
            f"Style-controlled leaderboard over the {len(styled)} of {len(battles)} battles whose input "
            "line carries both answers."
        )
    fit = style_leaderboard(styled, rounds=rounds, seed=boot.seed, level=boot.level)
    style = [
        StyleCoefficientRow(
            feature=c.feature,
            coefficient=c.coefficient,
            ci=(c.ci_low, c.ci_high) if c.ci_low is not None and c.ci_high is not None else None,
        )
        for c in fit.coefficients
    ]
    return board, StyleControlled(battles=len(styled), leaderboard=_rows(fit.ratings), style=style)


def pair_health(
    pairs: list[PairLine], inputs: dict[str, Competitors], boot: Bootstrap, notes: list[str]
) -> tuple[RateCI | None, RateCI | None, RateCI | None]:
    """(swap consistency, P(first shown wins), P(longer wins))."""
    consistent = [1.0 if p.consistent else 0.0 for p in pairs if p.consistent is not None]
    swap_consistency = boot.rate(consistent)
    if not consistent:
        notes.append("No swap consistency: no pairwise line was judged in both orders (swap).")
    # P(first shown wins): decisive games, each with the order it was shown in; lines resampled whole.
    firsts, decisive = [], []
    for p in pairs:
        games = [(order, w) for order, w in p.games if w in ("response_1", "response_2")]
        if games:
            firsts.append(sum(w == FIRST_SHOWN[order] for order, w in games))
            decisive.append(len(games))
    first_shown = None
    if decisive:
        num, den = np.asarray(firsts, dtype=float), np.asarray(decisive, dtype=float)
        first_shown = RateCI(rate=float(num.sum() / den.sum()), ci=boot.ci(num, den), n=int(den.sum()))
    if not inputs:
        notes.append("No P(longer wins): it needs the input file (the answers' lengths).")
        return swap_consistency, first_shown, None
    longer: list[float] = []
    for p in pairs:
        who = inputs.get(p.custom_id) if p.custom_id is not None else None
        if not p.scored or p.winner not in ("response_1", "response_2") or who is None:
            continue
        if who.length_1 is None or who.length_2 is None or who.length_1 == who.length_2:
            continue
        longer_side = "response_1" if who.length_1 > who.length_2 else "response_2"
        longer.append(1.0 if p.winner == longer_side else 0.0)
    return swap_consistency, first_shown, boot.rate(longer)
