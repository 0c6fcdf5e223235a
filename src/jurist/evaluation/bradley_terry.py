"""Bradley–Terry ratings from pairwise battles, with bootstrap confidence intervals (Arena-Hard's recipe).

A battle is (model_a, model_b, outcome) with outcome 1 (a wins), 2 (b wins) or 0 (tie). A tie counts as
half a win for each side. Strengths are fitted by the minorise–maximise algorithm (Hunter, 2004) and
reported on the Elo scale: 400·log10(strength) + 1000, anchored so the mean rating is 1000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Battle = tuple[str, str, int]
_SCALE = 400 / np.log(10)


@dataclass(frozen=True)
class Rating:
    model: str
    rating: float
    ci_low: float
    ci_high: float
    battles: int
    win_rate: float


def _encode(battles: Sequence[Battle], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Each battle as two weighted cells of the flattened wins matrix: (cells, weights), shape (k, 2)."""
    n = len(index)
    cells = np.empty((len(battles), 2), dtype=np.int64)
    weights = np.empty((len(battles), 2))
    for k, (a, b, outcome) in enumerate(battles):
        i, j = index[a], index[b]
        cells[k] = (i * n + j, j * n + i)
        weights[k] = (1.0, 0.0) if outcome == 1 else (0.0, 1.0) if outcome == 2 else (0.5, 0.5)
    return cells, weights


def _wins_from(cells: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    flat = np.bincount(cells.ravel(), weights=weights.ravel(), minlength=n * n)
    matrix: np.ndarray = flat.reshape(n, n)
    return matrix


def wins_matrix(battles: Sequence[Battle], index: dict[str, int]) -> np.ndarray:
    """``wins[i, j]`` = times model ``index``-i beat model j (ties count half each way)."""
    return _wins_from(*_encode(battles, index), len(index))


def fit_strengths(
    wins: np.ndarray, iterations: int = 2000, tol: float = 1e-9, prior: float = 0.1
) -> np.ndarray:
    """Log-strengths (natural log, mean 0). ``wins[i, j]`` = times i beat j. A small symmetric prior
    (``prior`` virtual ties against every other model) keeps unbeaten or winless models finite;
    ``prior=0`` is the plain maximum-likelihood fit."""
    n = len(wins)
    w = wins + prior * (1 - np.eye(n)) / 2
    games = w + w.T
    total_wins = w.sum(axis=1)
    p = np.ones(n)
    for _ in range(iterations):
        denom = (games / (p[:, None] + p[None, :])).sum(axis=1)
        new = total_wins / denom
        new /= np.exp(np.mean(np.log(new)))
        if np.max(np.abs(new - p)) < tol:
            p = new
            break
        p = new
    logs: np.ndarray = np.log(p)
    centred: np.ndarray = logs - logs.mean()
    return centred


def records(battles: Sequence[Battle], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """(battles, points) per model, a tie counting half a point to each side."""
    counts = np.zeros(len(index))
    scores = np.zeros(len(index))
    for a, b, outcome in battles:
        counts[index[a]] += 1
        counts[index[b]] += 1
        scores[index[a]] += 1 if outcome == 1 else 0.5 if outcome == 0 else 0
        scores[index[b]] += 1 if outcome == 2 else 0.5 if outcome == 0 else 0
    return counts, scores


def leaderboard(
    battles: Sequence[Battle], rounds: int = 200, seed: int = 0, level: float = 0.95
) -> list[Rating]:
    """Ratings with percentile-bootstrap CIs (battles resampled with replacement), best first."""
    models = sorted({m for a, b, _ in battles for m in (a, b)})
    index = {m: i for i, m in enumerate(models)}
    cells, weights = _encode(battles, index)
    point = fit_strengths(_wins_from(cells, weights, len(models))) * _SCALE + 1000
    rng = np.random.default_rng(seed)
    samples = np.empty((rounds, len(models)))
    for r in range(rounds):
        picks = rng.integers(0, len(battles), size=len(battles))
        samples[r] = fit_strengths(_wins_from(cells[picks], weights[picks], len(models))) * _SCALE + 1000
    low, high = np.quantile(samples, [(1 - level) / 2, 1 - (1 - level) / 2], axis=0)
    counts, scores = records(battles, index)
    out = [
        Rating(
            m, float(point[i]), float(low[i]), float(high[i]), int(counts[i]), float(scores[i] / counts[i])
        )
        for i, m in enumerate(models)
    ]
    return sorted(out, key=lambda r: -r.rating)
