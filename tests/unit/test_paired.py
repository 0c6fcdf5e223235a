"""Paired comparison of two runs: McNemar and Wilcoxon against SciPy, Holm on a textbook case, the paired
bootstrap (coverage, seed), decisions on constructed cases, the gate, and the edge cases."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import binomtest, norm
from scipy.stats import wilcoxon as scipy_wilcoxon

from jurist.evaluation import paired_stats
from jurist.evaluation.paired import Paired, adjusted, compare_pass, compare_scores, decide, gate, holm
from jurist.evaluation.paired_stats import mean_ci, wilcoxon


def table(both: int, improved: int, regressed: int, neither: int) -> tuple[list[bool], list[bool]]:
    """Base and candidate pass/fail from a paired 2×2 table (improved: base fail, candidate pass)."""
    base = [True] * both + [False] * improved + [True] * regressed + [False] * neither
    candidate = [True] * both + [True] * improved + [False] * regressed + [False] * neither
    return base, candidate


# --- McNemar exact ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("improved", "regressed"), [(15, 5), (0, 7), (7, 0), (3, 3), (30, 50), (1, 0), (400, 460), (2, 9)]
)
def test_mcnemar_matches_scipy_binomtest(improved: int, regressed: int) -> None:
    base, candidate = table(40, improved, regressed, 25)
    result = compare_pass(base, candidate)
    expected = binomtest(improved, improved + regressed, 0.5).pvalue
    assert result.test == "mcnemar_exact"
    assert result.p_value == pytest.approx(expected, rel=1e-9)
    assert (result.improved, result.regressed, result.same) == (improved, regressed, 65)


def test_mcnemar_hand_computed() -> None:
    # 8 improved, 2 regressed: P(Bin(10, ½) ≤ 2) = (1 + 10 + 45) / 1024, doubled
    base, candidate = table(20, 8, 2, 10)
    assert compare_pass(base, candidate).p_value == pytest.approx(112 / 1024, rel=1e-12)


def test_mcnemar_without_discordant_pairs_is_one() -> None:
    base, candidate = table(20, 0, 0, 10)
    assert compare_pass(base, candidate).p_value == pytest.approx(1.0)


# --- Wilcoxon signed-rank --------------------------------------------------------------------------


def test_wilcoxon_exact_matches_scipy_without_ties() -> None:
    rng = np.random.default_rng(3)
    d = rng.normal(0.3, 1.0, size=30)
    assert wilcoxon(d) == pytest.approx(scipy_wilcoxon(d).pvalue, rel=1e-9)


def test_wilcoxon_asymptotic_matches_scipy_with_ties_and_zeros() -> None:
    rng = np.random.default_rng(4)
    base = rng.integers(1, 6, size=300).astype(float)
    candidate = np.clip(base + rng.integers(-1, 3, size=300), 1, 5)
    d = candidate - base
    result = compare_scores(base.tolist(), candidate.tolist())
    assert result.test == "wilcoxon"
    assert result.p_value == pytest.approx(scipy_wilcoxon(d, zero_method="wilcox").pvalue, rel=1e-9)
    assert result.p_value == pytest.approx(scipy_wilcoxon(d, method="asymptotic").pvalue, rel=1e-9)


@pytest.mark.parametrize(
    "d", [[1, 1, 2, -1, 2, 0, 3, 1, -2, 1, 0], [1, 1, 2, -1, 2, 3, 1, -2, 1, 1.5], [-3, -3, -1, 2, -1, -3]]
)
def test_wilcoxon_small_tied_matches_scipy_permutation(d: list[float]) -> None:
    x = np.array(d, dtype=float)
    assert wilcoxon(x) == pytest.approx(scipy_wilcoxon(x).pvalue, rel=1e-9)


def test_wilcoxon_exact_with_ties_matches_brute_force() -> None:
    d = np.array([1, 1, 2, -1, 2, 3, 1, -2, 1, 1, 2, 2, -3, 1, 4, 2, 0, 0], dtype=float)
    nonzero = d[d != 0]
    ranks = paired_stats.average_ranks(np.abs(nonzero))[0]
    observed = ranks[nonzero > 0].sum()
    signs = np.array(list(itertools.product([0, 1], repeat=len(nonzero))), dtype=float)
    w = signs @ ranks
    expected = min(1.0, 2 * min(np.mean(w <= observed + 1e-9), np.mean(w >= observed - 1e-9)))
    assert wilcoxon(d) == pytest.approx(expected, rel=1e-9)


def test_wilcoxon_all_zero_is_one() -> None:
    assert wilcoxon(np.zeros(12)) == pytest.approx(1.0)


# --- Holm ------------------------------------------------------------------------------------------


def test_holm_textbook() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_holm_caps_at_one_and_keeps_order() -> None:
    assert holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])
    assert holm([0.02]) == pytest.approx([0.02])
    assert holm([]) == []


def test_adjusted_redoes_the_decisions() -> None:
    base, candidate = table(100, 20, 8, 72)  # p ≈ 0.036 alone: better
    alone = compare_pass(base, candidate)
    assert alone.decision == "better"
    assert alone.p_adjusted == pytest.approx(alone.p_value)
    noise = compare_pass(*table(100, 10, 10, 80))
    results = adjusted([alone, noise, noise], alpha=0.05, margin=0.02)
    assert results[0].p_adjusted == pytest.approx(3 * alone.p_value)
    assert results[0].decision == "inconclusive"
    assert results[0].items_needed is not None and results[0].items_needed > alone.n
    assert [r.p_value for r in results] == pytest.approx([alone.p_value, 1.0, 1.0])


# --- the paired bootstrap --------------------------------------------------------------------------


def test_bootstrap_ci_contains_the_true_delta_and_is_reproducible() -> None:
    rng = np.random.default_rng(5)
    quality = rng.normal(0.6, 0.15, size=400)
    base = quality + rng.normal(0, 0.1, size=400)
    candidate = quality + 0.05 + rng.normal(0, 0.1, size=400)
    result = compare_scores(base.tolist(), candidate.tolist(), seed=11)
    assert result.ci_low < 0.05 < result.ci_high
    again = compare_scores(base.tolist(), candidate.tolist(), seed=11)
    assert (again.ci_low, again.ci_high) == pytest.approx((result.ci_low, result.ci_high), rel=1e-12)
    other = compare_scores(base.tolist(), candidate.tolist(), seed=12)
    assert (other.ci_low, other.ci_high) != pytest.approx((result.ci_low, result.ci_high), rel=1e-12)


def test_bootstrap_ci_covers_about_95_percent() -> None:
    rng = np.random.default_rng(6)
    covered = 0
    for seed in range(200):
        p = rng.beta(2, 1, size=300)
        base = rng.random(300) < p
        candidate = rng.random(300) < np.clip(p - 0.05, 0, 1)
        truth = float(np.clip(p - 0.05, 0, 1).mean() - p.mean())
        result = compare_pass(base.tolist(), candidate.tolist(), seed=seed, rounds=1000)
        covered += result.ci_low <= truth <= result.ci_high
    assert 0.9 <= covered / 200 <= 0.99


def test_multinomial_draws_match_item_resampling() -> None:
    rng = np.random.default_rng(7)
    d = rng.integers(-2, 3, size=250).astype(float)
    low, high = mean_ci(d, alpha=0.05, rounds=20000, seed=1)
    picks = rng.integers(0, len(d), size=(20000, len(d)))
    ref_low, ref_high = np.quantile(d[picks].mean(axis=1), [0.025, 0.975])
    assert (low, high) == pytest.approx((ref_low, ref_high), abs=0.01)


def test_continuous_large_n_uses_the_normal_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(8)
    d = rng.normal(0.1, 1.0, size=3000)
    bootstrap = mean_ci(d, alpha=0.05, rounds=2000, seed=0)
    monkeypatch.setattr(paired_stats, "RESAMPLE_BUDGET", 1000)
    normal = mean_ci(d, alpha=0.05, rounds=2000, seed=0)
    half = norm.ppf(0.975) * d.std(ddof=1) / math.sqrt(len(d))
    assert normal == pytest.approx((d.mean() - half, d.mean() + half), rel=1e-9)
    assert normal == pytest.approx(bootstrap, abs=0.005)


# --- decisions -------------------------------------------------------------------------------------


def test_clear_improvement_is_better_and_clear_regression_is_worse() -> None:
    better = compare_pass(*table(100, 40, 5, 55))
    assert better.decision == "better" and better.delta == pytest.approx(0.175)
    assert better.base == pytest.approx(105 / 200) and better.candidate == pytest.approx(140 / 200)
    assert better.ci_low > 0 and better.items_needed is None
    worse = compare_pass(*table(100, 5, 40, 55))
    assert worse.decision == "worse" and worse.ci_high < 0
    rng = np.random.default_rng(9)
    scores = rng.uniform(1, 10, size=200)
    assert compare_scores(scores, scores + rng.normal(0.5, 0.5, size=200)).decision == "better"
    assert compare_scores(scores, scores - rng.normal(0.5, 0.5, size=200)).decision == "worse"


def test_tiny_differences_on_many_items_are_equivalent() -> None:
    result = compare_pass(*table(12000, 100, 110, 7790))
    assert -0.02 < result.ci_low < result.ci_high < 0.02
    assert result.decision == "equivalent" and result.items_needed is None
    rng = np.random.default_rng(10)
    scores = rng.uniform(0, 1, size=20000)
    assert compare_scores(scores, scores + rng.normal(0, 0.05, size=20000)).decision == "equivalent"


def test_small_noisy_runs_are_inconclusive_with_items_needed() -> None:
    result = compare_pass(*table(8, 3, 2, 7))
    assert result.decision == "inconclusive"
    assert result.mde is not None and result.items_needed is not None
    assert result.items_needed > result.n
    # ⌈((z.975 + z.8)·sd / |delta|)²⌉ with sd the sample sd of the differences
    d = np.array([1.0] * 3 + [-1.0] * 2 + [0.0] * 15)
    expected = math.ceil(((norm.ppf(0.975) + norm.ppf(0.8)) * d.std(ddof=1) / 0.05) ** 2)
    assert result.items_needed == expected
    assert result.mde == pytest.approx((norm.ppf(0.975) + norm.ppf(0.8)) * d.std(ddof=1) / math.sqrt(20))
    rng = np.random.default_rng(11)
    noisy = compare_scores(rng.normal(size=15), rng.normal(size=15))
    assert noisy.decision == "inconclusive"
    assert noisy.items_needed is not None and noisy.items_needed > 15


def test_decide_rules() -> None:
    assert decide(0.0, -0.01, 0.01, 0.9, 0.05, 0.02) == "equivalent"
    assert decide(0.01, 0.005, 0.015, 0.001, 0.05, 0.02) == "equivalent"  # inside the margin wins
    assert decide(0.05, 0.01, 0.09, 0.01, 0.05, 0.02) == "better"
    assert decide(-0.05, -0.09, -0.01, 0.01, 0.05, 0.02) == "worse"
    assert decide(0.05, -0.01, 0.11, 0.2, 0.05, 0.02) == "inconclusive"
    assert decide(0.0, 0.0, 0.0, 1.0, 0.05, 0.0) == "inconclusive"  # no open interval inside margin 0


def test_every_pair_moving_the_same_way_uses_the_worst_case_sd() -> None:
    result = compare_pass([False] * 4, [True] * 4)  # p = 2/16: inconclusive, sd = 0 → worst case 1
    assert result.decision == "inconclusive"
    assert result.mde == pytest.approx((norm.ppf(0.975) + norm.ppf(0.8)) / 2)
    assert result.items_needed == math.ceil((norm.ppf(0.975) + norm.ppf(0.8)) ** 2)
    assert compare_pass([False] * 8, [True] * 8).decision == "better"


# --- edge cases ------------------------------------------------------------------------------------


def test_no_items() -> None:
    for result in (compare_pass([], []), compare_scores([], [])):
        assert result.n == 0 and result.decision == "inconclusive"
        assert result.mde is None and result.items_needed is None
        assert result.p_value == pytest.approx(1.0)
        assert (result.ci_low, result.ci_high) == pytest.approx((0.0, 0.0))
        assert (result.improved, result.regressed, result.same) == (0, 0, 0)
    assert adjusted([compare_pass([], [])], 0.05, 0.02)[0].decision == "inconclusive"


def test_identical_runs() -> None:
    scores = [1.0, 2.5, 3.0, 4.0] * 10
    result = compare_scores(scores, list(scores))
    assert (result.ci_low, result.ci_high) == pytest.approx((0.0, 0.0))
    assert result.p_value == pytest.approx(1.0) and result.same == 40
    assert result.decision == "equivalent" and result.mde == pytest.approx(0.0)
    passes = compare_pass([True, False] * 30, [True, False] * 30)
    assert passes.decision == "equivalent" and passes.delta == pytest.approx(0.0)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="same items"):
        compare_pass([True], [True, False])
    with pytest.raises(ValueError, match="finite"):
        compare_scores([1.0, float("nan")], [1.0, 2.0])
    with pytest.raises(ValueError, match="alpha"):
        compare_scores([1.0], [1.0], alpha=1.5)


def test_as_dict() -> None:
    row = compare_pass(*table(10, 3, 1, 6)).as_dict()
    assert row["kind"] == "pass" and row["n"] == 20 and row["test"] == "mcnemar_exact"
    assert set(row) == set(Paired.__dataclass_fields__)


# --- the gate --------------------------------------------------------------------------------------


def with_ci(delta: float, low: float, high: float, n: int = 500) -> Paired:
    base = compare_pass(*table(n // 2, 0, 0, n - n // 2))
    return replace(base, delta=delta, ci_low=low, ci_high=high)


def test_gate_default_fails_only_on_an_established_regression() -> None:
    noisy = gate(with_ci(-0.04, -0.09, 0.01), 0.05)  # regression 0.04, CI [-0.01, 0.09]
    assert noisy.passed
    assert (noisy.regression, noisy.regression_low, noisy.regression_high) == pytest.approx(
        (0.04, -0.01, 0.09)
    )
    assert "No regression beyond 0.0500 established" in noisy.reason
    established = gate(with_ci(-0.10, -0.13, -0.07), 0.05)  # regression CI [0.07, 0.13]
    assert not established.passed and "lower bound exceeds 0.0500" in established.reason
    assert gate(with_ci(-0.10, -0.13, -0.07), 0.0).passed is False
    assert gate(with_ci(0.03, 0.01, 0.05), 0.0).passed  # an improvement


def test_gate_noninferiority_needs_the_upper_bound_below_the_margin() -> None:
    assert gate(with_ci(0.0, -0.03, 0.03), 0.05, noninferiority=True).passed
    wide = gate(with_ci(0.0, -0.08, 0.08), 0.05, noninferiority=True)
    assert not wide.passed and "not below 0.0500" in wide.reason
    assert gate(with_ci(0.0, -0.08, 0.08), 0.05).passed  # the default gate lets noise through


def test_gate_without_items() -> None:
    empty = compare_pass([], [])
    assert gate(empty, 0.05).passed
    assert not gate(empty, 0.05, noninferiority=True).passed


def test_gate_on_real_comparisons() -> None:
    outcome = gate(compare_pass(*table(300, 10, 60, 130)), 0.05)
    assert not outcome.passed and outcome.regression == pytest.approx(0.1)
    assert "pass rate" in outcome.reason and "over 500 items" in outcome.reason
    assert gate(compare_pass(*table(300, 30, 30, 140)), 0.05).passed
