"""Calibration: isotonic and logistic fits recover a known monotone relation; ECE, Brier, bootstrap; the
raw confidence signal of a judgment."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.optimize import isotonic_regression, minimize

from jurist.evaluation.calibration import (
    ISOTONIC_MIN,
    Calibrator,
    fit_calibrator,
    fit_isotonic,
    fit_logistic,
    pool_adjacent_violators,
)
from jurist.evaluation.confidence import raw_confidence
from jurist.evaluation.reliability import (
    brier_score,
    calibration_quality,
    expected_calibration_error,
    reliability_bins,
)
from jurist.evaluation.synthetic import SyntheticJudge
from jurist.protocol.judgment import PairExpected, PairwiseEnsemble, PairwiseJudgment, SingleJudgment, Swap


def test_pool_adjacent_violators_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    y = rng.random(300) + np.linspace(0, 1, 300)
    w = rng.integers(1, 5, 300).astype(float)
    ours = pool_adjacent_violators(y.tolist(), w.tolist())
    assert np.allclose(ours, isotonic_regression(y, weights=w).x)
    assert np.all(np.diff(ours) >= 0)


def test_isotonic_recovers_a_known_monotone_relation() -> None:
    judge = SyntheticJudge(0.5, 2.0)
    signal, agreed = judge.draw(20000, seed=1)
    cal = fit_isotonic(signal.tolist(), agreed.tolist())
    grid = np.linspace(0.05, 0.95, 19)
    assert np.abs(cal.apply_many(grid) - judge.truth(grid)).max() < 0.06
    assert np.all(np.diff(cal.apply_many(np.linspace(-1, 2, 200))) >= 0)  # monotone, flat beyond the data


def test_logistic_matches_a_direct_likelihood_fit() -> None:
    rng = np.random.default_rng(4)
    s = rng.normal(size=150)
    y = rng.random(150) < 1 / (1 + np.exp(-(0.3 + 1.5 * s)))
    cal = fit_logistic(s.tolist(), y.tolist())
    positives, negatives = y.sum(), (~y).sum()
    t = np.where(y, (positives + 1) / (positives + 2), 1 / (negatives + 2))

    def loss(theta: np.ndarray) -> float:
        p = 1 / (1 + np.exp(-(theta[0] + theta[1] * s)))
        return float(-(t * np.log(p) + (1 - t) * np.log(1 - p)).sum())

    direct = minimize(loss, np.zeros(2), method="BFGS").x
    assert cal.a == pytest.approx(direct[0], abs=1e-4) and cal.b == pytest.approx(direct[1], abs=1e-4)
    assert abs(cal.b - 1.5) < 0.6  # close to the generating slope


def test_logistic_stays_finite_on_a_separating_signal() -> None:
    cal = fit_logistic([0.1, 0.2, 0.8, 0.9], [False, False, True, True])
    assert np.isfinite(cal.a) and np.isfinite(cal.b)
    assert cal.apply(0.1) < 0.5 < cal.apply(0.9)


def test_the_rule_picks_logistic_for_few_labels_and_isotonic_for_many() -> None:
    signal, agreed = SyntheticJudge().draw(ISOTONIC_MIN, seed=2)
    assert fit_calibrator(signal[:-1].tolist(), agreed[:-1].tolist()).kind == "logistic"
    assert fit_calibrator(signal.tolist(), agreed.tolist()).kind == "isotonic"


@pytest.mark.parametrize("n", [50, 500])
def test_calibrator_round_trips_through_json(n: int) -> None:
    signal, agreed = SyntheticJudge().draw(n, seed=5)
    cal = fit_calibrator(signal.tolist(), agreed.tolist(), fitted_on="synthetic")
    again = Calibrator.from_dict(json.loads(json.dumps(cal.as_dict())))
    assert again == cal and again.apply(0.42) == cal.apply(0.42)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"version": 2, "kind": "logistic", "n": 1, "a": 0, "b": 1}, "version"),
        ({"version": 1, "kind": "spline", "n": 1}, "kind"),
        ({"version": 1, "kind": "isotonic", "n": 1, "x": [0, 1], "y": [0.5]}, "same"),
        ({"version": 1, "kind": "logistic", "n": 1, "a": "x", "b": 1}, "numbers"),
    ],
)
def test_bad_calibrator_json_is_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Calibrator.from_dict(data)


def test_ece_is_small_for_a_calibrated_judge_and_large_for_an_overconfident_one() -> None:
    judge = SyntheticJudge(0.5, 1.0)
    signal, agreed = judge.draw(4000, seed=6)
    calibrated = calibration_quality(judge.truth(signal), agreed, seed=0)
    overconfident = calibration_quality(np.full(len(signal), 0.99), agreed, seed=0)
    assert calibrated.ece.value < 0.03 and calibrated.ece.high < 0.05
    assert overconfident.ece.value > 0.2 and overconfident.ece.low > calibrated.ece.high
    assert calibrated.brier.value < overconfident.brier.value
    # fitted on one half, measured on the other: the raw signal is miscalibrated, the fitted one is not
    cal = fit_calibrator(signal[:2000].tolist(), agreed[:2000].tolist())
    before = expected_calibration_error(signal[2000:], agreed[2000:])
    after = expected_calibration_error(cal.apply_many(signal[2000:]), agreed[2000:])
    assert before > 0.2 and after < 0.05


def test_ece_brier_and_bins_on_hand_built_data() -> None:
    p = [0.1, 0.1, 0.9, 0.9]
    y = [False, True, True, True]
    bins = reliability_bins(p, y, bins=2)
    assert [b.count for b in bins] == [2, 2]
    assert [(b.mean_confidence, b.accuracy) for b in bins] == [
        pytest.approx((0.1, 0.5)),
        pytest.approx((0.9, 1.0)),
    ]
    assert expected_calibration_error(p, y, bins=2) == pytest.approx(0.5 * 0.4 + 0.5 * 0.1)
    assert brier_score(p, y) == pytest.approx((0.01 + 0.81 + 0.01 + 0.01) / 4)


def test_bootstrap_is_seeded() -> None:
    signal, agreed = SyntheticJudge().draw(300, seed=7)
    assert calibration_quality(signal, agreed, seed=1) == calibration_quality(signal, agreed, seed=1)
    assert calibration_quality(signal, agreed, seed=1).ece != calibration_quality(signal, agreed, seed=2).ece


def test_raw_confidence_of_judgments() -> None:
    sure = PairwiseJudgment(
        scored=True,
        winner="response_1",
        parsed_by="json",
        swap=Swap(consistent=True),
        ensemble=PairwiseEnsemble(samples=2, total_games=4, scored_games=4, agreement=1.0),
        expected_score=PairExpected(response_1=5.0, response_2=1.0),
    )
    unsure = sure.model_copy(update={"swap": Swap(consistent=False), "parsed_by": "repair_text"})
    assert raw_confidence(sure) == 1.0
    assert raw_confidence(unsure) == pytest.approx(0.7 * 2 / 3)
    bare = SingleJudgment(scored=True, overall_score=4, parsed_by="text")
    assert raw_confidence(bare) == pytest.approx(0.8 * 0.5)  # no component: no information
    spread = bare.model_copy(update={"expected_score": 3.8, "parsed_by": "json"})
    assert raw_confidence(spread) == pytest.approx(0.6)
    assert raw_confidence(SingleJudgment(scored=False)) is None
