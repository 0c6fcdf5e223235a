"""PPI++ estimates of a mean anchored on human labels (jurist.evaluation.ppi)."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from scipy.stats import t as student_t

from jurist.evaluation.ppi import (
    Estimate,
    FloatArray,
    classical_mean,
    judge_only_mean,
    pass_value,
    power_tuned_lambda,
    ppi_mean,
    t_quantile,
    win_value,
)


def _biased_world(rng: np.random.Generator, n: int, big_n: int) -> tuple[FloatArray, FloatArray]:
    """Pass/fail truths (rate 0.6) and a judge that passes 90% of passes and 40% of fails (rate 0.70)."""
    truth = (rng.random(n + big_n) < 0.6).astype(float)
    pred = np.where(truth == 1.0, rng.random(n + big_n) < 0.9, rng.random(n + big_n) < 0.4).astype(float)
    return truth, pred


def test_lambda_zero_is_the_classical_estimate() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=40)
    f = y + rng.normal(size=40)
    unl = rng.normal(size=500)
    ppi = ppi_mean(y, f, unl, lam=0.0)
    classical = classical_mean(y)
    assert ppi.estimate == pytest.approx(classical.estimate)
    assert ppi.ci_low == pytest.approx(classical.ci_low)
    assert ppi.ci_high == pytest.approx(classical.ci_high)
    assert ppi.effective_labels == pytest.approx(40.0)
    # Student's t with n − 1 degrees of freedom (the small-sample correction), not the normal quantile
    half = student_t.ppf(0.95, 39) * float(np.std(y, ddof=1)) / math.sqrt(40)
    assert classical.ci_high - classical.estimate == pytest.approx(half, rel=1e-4)
    assert half > NormalDist().inv_cdf(0.95) * float(np.std(y, ddof=1)) / math.sqrt(40)


def test_plain_ppi_matches_the_formula() -> None:
    y, f, unl = [1.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0, 1.0]
    got = ppi_mean(y, f, unl, lam=1.0, alpha=0.05)
    rect = np.array(y) - np.array(f)
    assert got.estimate == pytest.approx(rect.mean() + np.mean(unl))
    var = np.var(rect, ddof=1) / 4 + np.var(unl, ddof=1) / 5
    assert got.ci_high - got.estimate == pytest.approx(student_t.ppf(0.975, 3) * math.sqrt(var), rel=2e-3)
    assert (got.n_labeled, got.n_unlabeled, got.lam) == (4, 5, 1.0)


def test_perfect_unbiased_judge_gets_lambda_one_and_a_narrow_interval() -> None:
    rng = np.random.default_rng(2)
    truth = (rng.random(2100) < 0.3).astype(float)
    y, unl = truth[:100], truth[100:]
    ppi = ppi_mean(y, y, unl)
    classical = classical_mean(y)
    # λ̂ ≈ 1/(1 + n/N) ≈ 0.95 (up to the labelled vs pooled variance of f).
    assert ppi.lam == pytest.approx(1.0 / (1.0 + 100 / 2000), abs=0.05)
    assert ppi.width < 0.4 * classical.width
    assert ppi.effective_labels > 10 * 100
    assert ppi.effective_labels <= 2100


def test_useless_judge_costs_nothing() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(200) < 0.5).astype(float)
    f = (rng.random(200) < 0.5).astype(float)
    unl = (rng.random(2000) < 0.5).astype(float)
    ppi = ppi_mean(y, f, unl)
    assert ppi.lam < 0.2
    assert ppi.width < 1.05 * classical_mean(y).width
    assert ppi_mean(y, np.ones(200), np.ones(2000)).lam == 0.0  # constant predictions


def test_biased_judge_ppi_stays_near_the_truth_judge_only_does_not() -> None:
    rng = np.random.default_rng(4)
    truth, pred = _biased_world(rng, 200, 5000)
    true_rate = float(truth.mean())
    ppi = ppi_mean(truth[:200], pred[:200], pred[200:])
    judge = judge_only_mean(pred)
    assert abs(judge.estimate - true_rate) > 0.07
    assert not judge.covers(true_rate)
    assert abs(ppi.estimate - true_rate) < 0.05
    assert ppi.covers(true_rate)
    assert 0.0 < ppi.lam <= 1.0
    assert ppi.width < classical_mean(truth[:200]).width
    assert ppi.effective_labels > 200


def test_coverage_in_simulation_is_at_least_nominal() -> None:
    rng = np.random.default_rng(5)
    n, big_n, reps = 100, 1000, 300
    ppi_hits = judge_hits = 0
    for _ in range(reps):
        truth, pred = _biased_world(rng, n, big_n)
        ppi_hits += ppi_mean(truth[:n], pred[:n], pred[n:], alpha=0.1).covers(0.6)
        judge_hits += judge_only_mean(pred, alpha=0.1).covers(0.6)
    assert ppi_hits / reps >= 0.85
    assert judge_hits / reps < 0.05


def test_power_tuned_lambda_formula() -> None:
    y, f, unl = [1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 1.0, 0.0]
    var_all = np.var(f + unl, ddof=1)
    cov = np.cov(y, f, ddof=1)[0, 1]
    assert power_tuned_lambda(y, f, unl) == pytest.approx(cov / (2.0 * var_all))
    assert ppi_mean(y, f, unl).lam == pytest.approx(cov / (2.0 * var_all))


def test_no_unlabelled_items_falls_back_to_labels() -> None:
    got = ppi_mean([1.0, 0.0, 1.0], [1.0, 0.0, 0.0], [])
    assert got.lam == 0.0
    assert got.estimate == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="unlabelled"):
        ppi_mean([1.0, 0.0, 1.0], [1.0, 0.0, 0.0], [], lam=0.5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ppi_mean([], [], [1.0, 0.0]), "at least two"),
        (lambda: ppi_mean([1.0], [1.0], [1.0, 0.0]), "at least two"),
        (lambda: ppi_mean([1.0, 0.0], [1.0], [1.0, 0.0]), "2 labels but 1 predictions"),
        (lambda: ppi_mean([1.0, 0.0], [1.0, 0.0], [1.0], lam=1.5), "lam"),
        (lambda: ppi_mean([1.0, 0.0], [1.0, 0.0], [1.0], alpha=0.0), "alpha"),
        (lambda: ppi_mean([1.0, math.nan], [1.0, 0.0], [1.0]), "finite"),
        (lambda: ppi_mean([[1.0]], [1.0], [1.0]), "flat"),  # type: ignore[list-item]
        (lambda: classical_mean([]), "at least two"),
        (lambda: judge_only_mean([1.0]), "at least two"),
    ],
)
def test_input_validation(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_values_and_as_dict() -> None:
    assert [win_value(x) for x in (1, 2, 0, None)] == [1.0, 0.0, 0.5, 0.5]
    with pytest.raises(ValueError):
        win_value(3)
    assert [pass_value(x) for x in (True, False, 1, 0)] == [1.0, 0.0, 1.0, 0.0]
    est = Estimate(0.5, 0.4, 0.6, 10, 90, 12.5, 0.8)
    assert est.as_dict() == {
        "estimate": 0.5,
        "ci_low": 0.4,
        "ci_high": 0.6,
        "n_labeled": 10,
        "n_unlabeled": 90,
        "effective_labels": 12.5,
        "lam": 0.8,
    }
    assert est.width == pytest.approx(0.2)
    assert est.covers(0.6) and not est.covers(0.61)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1, 0.2])
@pytest.mark.parametrize("df", [3, 5, 10, 49, 1000])
def test_the_t_quantile_matches_scipy(alpha: float, df: int) -> None:
    assert t_quantile(alpha, df) == pytest.approx(student_t.ppf(1 - alpha / 2, df), rel=1e-2)
    assert t_quantile(alpha, df) > NormalDist().inv_cdf(1 - alpha / 2)


def test_bounds_smooth_labels_that_all_agree_and_clip_the_interval() -> None:
    y, f, unl = [1.0] * 10, [1.0, 0.0] * 5, [1.0, 0.0] * 20
    plain = ppi_mean(y, f, unl, alpha=0.05)
    assert plain.ci_high - plain.ci_low == pytest.approx(0.0, abs=1e-12)  # the degenerate interval
    bounded = ppi_mean(y, f, unl, alpha=0.05, bounds=(0.0, 1.0))
    smoothed = 11 / 12
    half = student_t.ppf(0.975, 9) * math.sqrt(smoothed * (1 - smoothed) / 10)
    assert bounded.ci_low == pytest.approx(1.0 - half, rel=2e-3) and bounded.ci_high == pytest.approx(1.0)
    varied = [1.0, 0.0] * 5  # labels that vary: the bounds only clip
    assert ppi_mean(varied, f, unl, alpha=0.05, bounds=(0.0, 1.0)).ci_low == pytest.approx(
        max(0.0, ppi_mean(varied, f, unl, alpha=0.05).ci_low)
    )
