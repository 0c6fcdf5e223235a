"""The cascade replayed offline (evaluation/cascade_eval.py) on hand-built items, and the synthetic pair.

Target 0.8 throughout; at delta 0.1 over two stages each stage is tested at 0.05, where the fewest items
that can pass is 14 (0.8^14 = 0.044 ≤ 0.05 < 0.8^13).
"""

from __future__ import annotations

import numpy as np
import pytest

from jurist.evaluation.cascade_eval import ABSTAINED, choose_thresholds, decide, evaluate, outcome
from jurist.evaluation.selective import choose_threshold
from jurist.evaluation.synthetic import SyntheticPair


def two_stage_items() -> tuple[np.ndarray, np.ndarray]:
    """40 calibration items (0–39), then 6 test items (40–45).

    Stage 1: items 0–19 at 0.9, all agreed (p = 0.8^20 = 0.012 ≤ 0.05); 20–39 at 0.2, half agreed (stops
    the test): threshold 0.9. Stage 2 sees items 20–39 only: 20–34 at 0.8, all agreed (p = 0.8^15 = 0.035);
    35–39 at 0.3, none agreed (stops): threshold 0.8. Items 0–19 carry a stage-2 signal of 0.95 with every
    verdict wrong: were they counted, stage 2 would have no threshold.
    """
    s1 = [0.9] * 20 + [0.2] * 20 + [0.95, 0.9, 0.5, 0.5, 0.1, 0.1]
    a1 = [True] * 20 + [True, False] * 10 + [True, False, True, True, True, True]
    s2 = [0.95] * 20 + [0.8] * 15 + [0.3] * 5 + [0.99, 0.99, 0.85, 0.8, 0.5, 0.1]
    a2 = [False] * 20 + [True] * 15 + [False] * 5 + [True, True, True, False, True, True]
    return np.array([s1, s2]), np.array([a1, a2])


def test_each_stage_is_chosen_on_the_calibration_items_that_reach_it() -> None:
    signal, agreed = two_stage_items()
    selections = choose_thresholds(signal[:, :40], agreed[:, :40], 0.8, 0.1)
    assert [s.threshold for s in selections] == [0.9, 0.8]
    assert [s.delta for s in selections] == [0.05, 0.05]
    assert selections[1].calibration.items == 20  # only the escalated ones
    everyone = choose_threshold(signal[1, :40].tolist(), agreed[1, :40].tolist(), 0.8, 0.05)
    assert everyone.threshold is None  # what counting the non-escalated items would have given


def test_first_confident_stage_decides_and_the_last_abstains() -> None:
    signal, agreed = two_stage_items()
    selections, out = evaluate(signal, agreed, range(40), range(40, 46), 0.8, 0.1, calls=[1, 6])
    assert [s.threshold for s in selections] == list(out.thresholds) == [0.9, 0.8]
    # test items: 0.95 and 0.9 accepted at stage 1 (one agreed); 0.85 and 0.8 (= the threshold) at stage 2
    # (one agreed); the last two below both thresholds: abstained after running both stages
    assert out.items == 6
    assert out.reached == (6, 4)
    assert out.decided == (2, 2)
    assert out.agreed == (1, 1)
    assert out.abstained == 2
    assert out.coverage == pytest.approx(4 / 6)
    assert out.agreement == pytest.approx(0.5)
    assert out.decided_share == pytest.approx((2 / 6, 2 / 6))
    assert out.calls == pytest.approx((1 + 1 + 7 + 7 + 7 + 7) / 6)
    low, high = out.agreement_ci
    assert low < 0.5 < high
    assert out.as_dict()["stages"] == [
        {"reached": 6, "decided": 2, "agreed": 1},
        {"reached": 4, "decided": 2, "agreed": 1},
    ]


def test_a_stage_with_no_threshold_escalates_everything() -> None:
    # stage 1: one signal value, half agreed: nothing passes. Stage 2 then sees all 40: 20 at 0.9 agreed
    # (p = 0.012), 20 at 0.1 wrong: threshold 0.9.
    s1 = [0.5] * 40
    a1 = [True, False] * 20
    s2 = [0.9] * 20 + [0.1] * 20
    a2 = [True] * 20 + [False] * 20
    selections = choose_thresholds([s1, s2], [a1, a2], 0.8, 0.1)
    assert selections[0].threshold is None
    assert selections[1].threshold == 0.9
    assert selections[1].calibration.items == 40
    out = outcome([[1.0, 0.5, 0.0], [0.9, 0.2, 0.95]], [[True] * 3, [True, True, False]], [None, 0.9], [1, 6])
    assert out.reached == (3, 3)
    assert out.decided == (0, 2)  # even a stage-1 signal of 1.0 escalates
    assert out.agreed == (0, 1)
    assert out.calls == pytest.approx(7.0)


def test_no_stage_with_a_threshold_abstains_on_everything() -> None:
    stage, ran = decide([[0.9, 0.1], [0.9, 0.1]], [None, None])
    assert stage.tolist() == [ABSTAINED, ABSTAINED]
    assert ran.tolist() == [2, 2]
    out = outcome([[0.9, 0.1], [0.9, 0.1]], [[True, True], [True, True]], [None, None], [1, 6])
    assert out.coverage == 0.0
    assert out.agreement is None
    assert out.agreement_ci == (0.0, 1.0)


def test_delta_is_split_over_the_stages() -> None:
    # 12 items at 0.9, all agreed: p = 0.8^12 = 0.069. Alone (delta 0.1) the judge passes; as the first of
    # two stages (0.05, at least 14 items) it does not.
    signal = [[0.9] * 12 + [0.1] * 12, [0.5] * 24]
    agreed = [[True] * 12 + [False] * 12, [False] * 24]
    alone = choose_thresholds(signal[:1], agreed[:1], 0.8, 0.1)
    assert alone[0].threshold == 0.9
    assert alone[0].delta == 0.1
    assert choose_thresholds(signal, agreed, 0.8, 0.1)[0].threshold is None


def test_matches_choosing_each_stage_by_hand_on_random_items() -> None:
    signal, agreed = SyntheticPair(cheap_slope=0.5).draw(3000, seed=3)
    selections = choose_thresholds(signal, agreed, 0.85, 0.1)
    first = choose_threshold(signal[0].tolist(), agreed[0].tolist(), 0.85, 0.05)
    assert first.threshold is not None
    escalated = signal[0] < first.threshold
    second = choose_threshold(signal[1, escalated].tolist(), agreed[1, escalated].tolist(), 0.85, 0.05)
    assert [s.threshold for s in selections] == [first.threshold, second.threshold]
    out = outcome(signal, agreed, [first.threshold, second.threshold], [1, 6])
    to_second = signal[1] >= (second.threshold if second.threshold is not None else np.inf)
    assert out.decided == (int((~escalated).sum()), int((escalated & to_second).sum()))
    assert out.calls == pytest.approx(1 + 6 * escalated.mean())


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="same shape"):
        outcome([[0.5, 0.5]], [[True]], [0.5], [1])
    with pytest.raises(ValueError, match="thresholds"):
        decide([[0.5], [0.5]], [0.5])
    with pytest.raises(ValueError, match="call counts"):
        outcome([[0.5], [0.5]], [[True], [True]], [0.5, 0.5], [1])


def test_synthetic_pair_is_seeded_and_has_the_documented_rates() -> None:
    pair = SyntheticPair()
    signal, agreed = pair.draw(200_000, seed=5)
    again, _ = pair.draw(200_000, seed=5)
    assert np.array_equal(signal, again)
    assert signal.shape == agreed.shape == (2, 200_000)
    assert agreed[0].mean() == pytest.approx(0.5 + 0.35 / 2, abs=0.005)
    assert agreed[1].mean() == pytest.approx(0.6 + 0.4 / 2, abs=0.005)
    assert np.corrcoef(signal)[0, 1] == pytest.approx(0.5 * 0.8, abs=0.01)
    unsure = signal[0] < 0.5  # what a cascade escalates: harder for the strong judge too
    assert agreed[1, unsure].mean() < agreed[1, ~unsure].mean() - 0.03
