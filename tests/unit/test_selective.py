"""Selective verdicts: fixed-sequence testing on hand-built data, bounds, the exact binomial helpers, and
the guarantee by repetition on a synthetic judge."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import beta, binom

from jurist.evaluation.binomial import binom_cdf, clopper_pearson
from jurist.evaluation.selective import candidates, choose_threshold, default_step, min_items
from jurist.evaluation.synthetic import SyntheticJudge


@pytest.mark.parametrize(
    ("k", "n", "p"), [(0, 22, 0.1), (5, 100, 0.1), (17, 235, 0.1), (400, 5000, 0.1), (3, 3, 0.5)]
)
def test_binomial_cdf_matches_scipy(k: int, n: int, p: float) -> None:
    assert binom_cdf(k, n, p) == pytest.approx(float(binom.cdf(k, n, p)), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("k", "n"), [(90, 100), (0, 10), (10, 10), (1, 3)])
def test_clopper_pearson_matches_the_beta_quantiles(k: int, n: int) -> None:
    low, high = clopper_pearson(k, n)
    assert low == pytest.approx(0.0 if k == 0 else float(beta.ppf(0.025, k, n - k + 1)), abs=1e-9)
    assert high == pytest.approx(1.0 if k == n else float(beta.ppf(0.975, k + 1, n - k)), abs=1e-9)


def hand_built() -> tuple[list[float], list[bool]]:
    """30 items at 0.9, all agreed; 30 at 0.7 with 2 wrong; 30 at 0.5 with 15 wrong."""
    confidence = [0.9] * 30 + [0.7] * 30 + [0.5] * 30
    agreed = [True] * 30 + [True] * 28 + [False] * 2 + [True] * 15 + [False] * 15
    return confidence, agreed


def test_fixed_sequence_picks_the_last_threshold_that_passed() -> None:
    confidence, agreed = hand_built()
    # at 0.9: e=0 of 30, p = 0.9^30 = 0.042 ≤ 0.1; at 0.7: e=2 of 60, p = P(Bin(60, .1) ≤ 2) = 0.053;
    # at 0.5: e=17 of 90, p ≈ 0.99: stop. λ = 0.7
    selection = choose_threshold(confidence, agreed, 0.9, 0.1, step=1)
    assert binom_cdf(2, 60, 0.1) < 0.1 < binom_cdf(17, 90, 0.1)
    assert selection.threshold == 0.7
    assert selection.calibration.accepted == 60 and selection.calibration.agreed == 58
    assert "17 of 90" in selection.reason
    # a stricter delta stops at 0.7 already: only 0.9 passes
    assert choose_threshold(confidence, agreed, 0.9, 0.05, step=1).threshold == 0.9
    # the default grid (step 44 items) tests 0.7 (60 items) then 0.5: the same answer here
    assert choose_threshold(confidence, agreed, 0.9, 0.1).threshold == 0.7
    outcome = selection.apply([0.95, 0.7, 0.69, 0.1], [True, False, True, True])
    assert (outcome.accepted, outcome.agreed, outcome.coverage, outcome.agreement) == (2, 1, 0.5, 0.5)
    assert selection.accept([0.7, 0.69]) == [True, False]


def test_an_impossible_target_abstains_on_everything_with_the_reason() -> None:
    confidence, agreed = hand_built()
    # 0.95 needs 45 items: 0.9 (30 items) cannot pass and is skipped; at 0.7, 2 of 60 wrong: p = 0.42
    selection = choose_threshold(confidence, agreed, 0.95, 0.1, step=1)
    assert selection.threshold is None and selection.calibration.accepted == 0
    assert "no threshold supports agreement ≥ 0.95" in selection.reason and "2 of 60" in selection.reason
    assert selection.apply([1.0, 0.9]).accepted == 0
    few = choose_threshold([0.9] * 10, [True] * 10, 0.9, 0.1)
    assert few.threshold is None and f"at least {min_items(0.9, 0.1)} are needed" in few.reason
    assert min_items(0.9, 0.1) == 22 and 0.9**22 <= 0.1 < 0.9**21


@pytest.mark.parametrize(
    ("target", "delta", "field"),
    [(0.5, 0.1, "agreement_target"), (1.0, 0.1, "agreement_target"), (0.3, 0.1, "agreement_target"),
     (0.9, 0.0, "delta"), (0.9, 1.0, "delta"), (0.9, -0.2, "delta")],
)  # fmt: skip
def test_bounds_are_validated_naming_the_field(target: float, delta: float, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field} must be in"):
        choose_threshold([0.5], [True], target, delta)


def test_candidates_are_strict_to_lenient() -> None:
    assert candidates([0.2, 0.9, 0.5, 0.9], step=1) == [0.9, 0.5, 0.2]
    spread = [i / 100 for i in range(100)]
    assert candidates(spread, step=40) == [0.6, 0.2, 0.0]  # the 40th, 80th most confident; the lowest
    assert candidates([1.0] * 10 + [0.0] * 90, step=40) == [1.0, 0.0]  # few distinct values: all tested
    assert default_step(1000, 0.9, 0.1) == 50 and default_step(100, 0.9, 0.1) == 44
    with pytest.raises(ValueError, match="step"):
        candidates([0.5], step=0)


def test_the_guarantee_holds_over_random_splits() -> None:
    """40 seeded calibration/test splits: the threshold's exact population agreement is below the target
    in at most about delta of them, and coverage approaches the oracle's from below."""
    judge = SyntheticJudge(0.5, 1.0)
    signal, agreed = judge.draw(2000, seed=11)
    rng = np.random.default_rng(12)
    failures, abstained, coverage = 0, 0, []
    for _ in range(40):
        order = rng.permutation(len(signal))
        cal, test = order[:1000], order[1000:]
        selection = choose_threshold(signal[cal].tolist(), agreed[cal].tolist(), 0.9, 0.1)
        if selection.threshold is not None:  # abstaining on everything keeps the promise trivially
            failures += judge.agreement_above(selection.threshold) < 0.9
        else:
            abstained += 1
        coverage.append(selection.apply(signal[test].tolist()).coverage)
    oracle = 1 - (judge.oracle_threshold(0.9) or 0.0)
    assert oracle == pytest.approx(0.4)
    assert failures <= 8  # delta = 0.1 of 40 is 4; binomial slack
    assert abstained <= 4
    assert 0.2 < float(np.mean(coverage)) < oracle
