"""A style-controlled Bradley–Terry leaderboard (Arena-Hard's / Chatbot Arena's "style control").

A judge that prefers long or heavily formatted answers lifts the models that write them. Style control
fits the Bradley–Terry model as a logistic regression with extra covariates for how the two answers of a
battle differ in style; the model strengths are then the coefficients with style held fixed, and the
style coefficients say how much style alone moves the verdict.

Features of an answer (``answer_style``): its UTF-8 length, and its markdown — header lines (``#`` …),
bold spans (``**…**`` / ``__…__``) and list items (``-``/``*``/``+``/``1.`` lines). Each battle's
covariate for a feature is the normalised difference **(a − b) / (a + b)** (0 when both are 0), as in
Chatbot Arena's ``construct_style_matrices`` (``apply_ratio``), then standardised over the battles
(z-score: minus the mean, over the standard deviation), so a coefficient is the change in log-odds of
answer a winning per standard deviation of that difference. A feature that does not vary over the
battles is left out (its coefficient is None).

The fit: maximise Σ w·[s·log σ(η) + (1 − s)·log σ(−η)] − λ/2·‖θ‖², η = θ_a − θ_b + γ·z, with s = 1, ½
or 0 (a tie counts half a win for each side), λ = ``PENALTY`` (a weak L2 penalty that keeps unbeaten or
winless models finite and, as the model part is shift-invariant, centres it), by Newton's method.
Ratings are on the Elo scale, 400·θ/ln 10 + 1000. CIs: percentile bootstrap over resampled battles, the
resamples drawn exactly as ``bradley_terry.leaderboard`` draws them (same seed, same rounds); the
standardisation is fixed on the full data so every resample's coefficients share one scale.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jurist.evaluation.bradley_terry import Rating, records

FEATURES = ("length", "headers", "bold", "lists")
PENALTY = 0.1
_SCALE = 400 / np.log(10)
_HEADER = re.compile(r"^ {0,3}#{1,6}(?:\s|$)", re.MULTILINE)
_BOLD = re.compile(r"\*\*(?=\S)[^\n]*?\S\*\*|__(?=\S)[^\n]*?\S__")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S", re.MULTILINE)


@dataclass(frozen=True)
class AnswerStyle:
    """The style features of one answer, in ``FEATURES`` order."""

    length: int
    headers: int
    bold: int
    lists: int

    def vector(self) -> tuple[int, int, int, int]:
        return (self.length, self.headers, self.bold, self.lists)


def answer_style(text: str) -> AnswerStyle:
    return AnswerStyle(
        length=len(text.encode()),
        headers=len(_HEADER.findall(text)),
        bold=len(_BOLD.findall(text)),
        lists=len(_LIST_ITEM.findall(text)),
    )


StyledBattle = tuple[str, str, int, AnswerStyle, AnswerStyle]  # (model_a, model_b, outcome, a's, b's)


@dataclass(frozen=True)
class StyleCoefficient:
    """A style feature's coefficient (log-odds of a winning per SD of the normalised difference)."""

    feature: str
    coefficient: float | None  # None when the feature does not vary over the battles
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class StyleFit:
    ratings: list[Rating]  # best first
    coefficients: list[StyleCoefficient]  # in ``FEATURES`` order


def style_covariates(battles: Sequence[StyledBattle]) -> tuple[np.ndarray, list[bool]]:
    """The standardised normalised differences, shape (battles, kept features), and which features of
    ``FEATURES`` were kept (those that vary)."""
    a = np.array([x[3].vector() for x in battles], dtype=float).reshape(len(battles), len(FEATURES))
    b = np.array([x[4].vector() for x in battles], dtype=float).reshape(len(battles), len(FEATURES))
    total = a + b
    diff = np.divide(a - b, total, out=np.zeros_like(total), where=total > 0)
    std = diff.std(axis=0)
    kept = [bool(s > 1e-12) for s in std]
    columns = np.flatnonzero(kept)
    z: np.ndarray = (diff[:, columns] - diff[:, columns].mean(axis=0)) / std[columns]
    return z, kept


def _objective(
    theta: np.ndarray, design: np.ndarray, target: np.ndarray, weights: np.ndarray, penalty: float
) -> float:
    eta = design @ theta
    return float(np.sum(weights * (np.logaddexp(0, eta) - target * eta)) + penalty / 2 * theta @ theta)


def _fit(
    design: np.ndarray, target: np.ndarray, weights: np.ndarray, start: np.ndarray, penalty: float
) -> np.ndarray:
    """The penalised maximum-likelihood coefficients by Newton's method with step halving (the
    objective is strictly convex for ``penalty`` > 0)."""
    theta = start.copy()
    value = _objective(theta, design, target, weights, penalty)
    for _ in range(100):
        p = 1 / (1 + np.exp(-(design @ theta)))
        gradient = design.T @ (weights * (p - target)) + penalty * theta
        hessian = (design * (weights * p * (1 - p))[:, None]).T @ design + penalty * np.eye(len(theta))
        step = np.linalg.solve(hessian, gradient)
        size = 1.0
        while True:
            candidate = theta - size * step
            new = _objective(candidate, design, target, weights, penalty)
            if new <= value or size < 1e-6:
                break
            size /= 2
        theta, done = candidate, value - new < 1e-12 and np.max(np.abs(size * step)) < 1e-9
        value = new
        if done:
            break
    return theta


def style_leaderboard(
    battles: Sequence[StyledBattle],
    rounds: int = 200,
    seed: int = 0,
    level: float = 0.95,
    penalty: float = PENALTY,
) -> StyleFit:
    """Style-controlled ratings (best first) and style coefficients, with percentile-bootstrap CIs."""
    models = sorted({m for a, b, *_ in battles for m in (a, b)})
    index = {m: i for i, m in enumerate(models)}
    n = len(models)
    z, kept = style_covariates(battles)
    design = np.zeros((len(battles), n + z.shape[1]))
    rows = np.arange(len(battles))
    design[rows, [index[x[0]] for x in battles]] = 1.0
    design[rows, [index[x[1]] for x in battles]] -= 1.0
    design[:, n:] = z
    target = np.array([1.0 if x[2] == 1 else 0.0 if x[2] == 2 else 0.5 for x in battles])
    point = _fit(design, target, np.ones(len(battles)), np.zeros(design.shape[1]), penalty)
    rng = np.random.default_rng(seed)
    samples = np.empty((rounds, design.shape[1]))
    for r in range(rounds):
        picks = rng.integers(0, len(battles), size=len(battles))
        weights = np.bincount(picks, minlength=len(battles)).astype(float)
        samples[r] = _fit(design, target, weights, point, penalty)
    low, high = np.quantile(samples, [(1 - level) / 2, 1 - (1 - level) / 2], axis=0)

    def elo(values: np.ndarray) -> np.ndarray:
        centred: np.ndarray = (values[:n] - values[:n].mean()) * _SCALE + 1000
        return centred

    sample_elo = np.apply_along_axis(elo, 1, samples) if rounds else np.empty((0, n))
    rating_low, rating_high = np.quantile(sample_elo, [(1 - level) / 2, 1 - (1 - level) / 2], axis=0)
    counts, scores = records([(a, b, outcome) for a, b, outcome, *_ in battles], index)
    ratings = [
        Rating(
            m,
            float(elo(point)[i]),
            float(rating_low[i]),
            float(rating_high[i]),
            int(counts[i]),
            float(scores[i] / counts[i]),
        )
        for i, m in enumerate(models)
    ]
    coefficients, column = [], n
    for feature, used in zip(FEATURES, kept, strict=True):
        if not used:
            coefficients.append(StyleCoefficient(feature, None, None, None))
            continue
        coefficients.append(
            StyleCoefficient(feature, float(point[column]), float(low[column]), float(high[column]))
        )
        column += 1
    return StyleFit(sorted(ratings, key=lambda r: -r.rating), coefficients)
