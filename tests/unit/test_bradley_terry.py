"""Bradley–Terry: the MM fit against scipy's logistic-regression MLE, and CI coverage on synthetic data."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from jurist.evaluation.bradley_terry import fit_strengths, leaderboard, wins_matrix

TRUE = {"alpha": 1.0, "beta": 0.4, "gamma": 0.0, "delta": -0.8}  # natural-log strengths


def synthetic(n: int, seed: int, tie_rate: float = 0.1) -> list[tuple[str, str, int]]:
    rng = np.random.default_rng(seed)
    names = list(TRUE)
    battles = []
    for _ in range(n):
        a, b = rng.choice(len(names), size=2, replace=False)
        p = 1 / (1 + np.exp(-(TRUE[names[a]] - TRUE[names[b]])))
        u = rng.random()
        outcome = 0 if u < tie_rate else (1 if rng.random() < p else 2)
        battles.append((names[a], names[b], outcome))
    return battles


def logistic_mle(battles: list[tuple[str, str, int]], names: list[str]) -> np.ndarray:
    """Independent computation: maximise the BT likelihood directly with scipy (ties as half wins)."""
    index = {m: i for i, m in enumerate(names)}
    rows = []
    for a, b, outcome in battles:
        y = 1.0 if outcome == 1 else 0.0 if outcome == 2 else 0.5
        rows.append((index[a], index[b], y))
    ia, ib, y = (np.array(c) for c in zip(*rows, strict=True))

    def nll(theta: np.ndarray) -> float:
        d = theta[ia] - theta[ib]
        return float(np.sum(np.logaddexp(0, -d) * y + np.logaddexp(0, d) * (1 - y)))

    theta = minimize(nll, np.zeros(len(names)), method="BFGS", options={"gtol": 1e-9}).x
    return np.asarray(theta - theta.mean())


def test_mm_fit_matches_scipy_logistic_regression() -> None:
    battles = synthetic(3000, seed=3)
    names = sorted(TRUE)
    index = {m: i for i, m in enumerate(names)}
    ours = fit_strengths(wins_matrix(battles, index), prior=0.0)
    theirs = logistic_mle(battles, names)
    assert np.allclose(ours, theirs, atol=1e-4), (ours, theirs)
    clean = fit_strengths(wins_matrix(synthetic(3000, seed=4, tie_rate=0.0), index), prior=0.0)
    truth = np.array([TRUE[m] for m in names])
    assert np.allclose(clean, truth - truth.mean(), atol=0.15)


def test_leaderboard_orders_by_strength_and_cis_cover_the_truth() -> None:
    board = leaderboard(synthetic(2000, seed=5), rounds=50)
    assert [r.model for r in board] == ["alpha", "beta", "gamma", "delta"]
    assert all(r.ci_low <= r.rating <= r.ci_high for r in board)
    assert abs(np.mean([r.rating for r in board]) - 1000) < 1e-6
    covered = total = 0
    truth_mean = np.mean(list(TRUE.values()))
    for seed in range(15):
        for r in leaderboard(synthetic(600, seed=100 + seed, tie_rate=0.0), rounds=40, seed=seed):
            true_rating = (TRUE[r.model] - truth_mean) * 400 / np.log(10) + 1000
            covered += r.ci_low <= true_rating <= r.ci_high
            total += 1
    assert 0.8 <= covered / total <= 1.0, covered / total


def test_unbeaten_models_stay_finite() -> None:
    board = leaderboard([("a", "b", 1)] * 10 + [("b", "c", 1)] * 10, rounds=20)
    assert [r.model for r in board] == ["a", "b", "c"]
    assert all(np.isfinite(r.rating) for r in board)
