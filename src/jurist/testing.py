"""Jurist's comparison statistics inside a test suite (a pytest plugin: ``pytest -p jurist.testing``, or
installed with Jurist as the ``jurist`` plugin).

    from jurist.testing import assert_no_regression

    def test_the_new_prompt_does_not_regress():
        base = [True, False, True, ...]        # each item passed with the old prompt (or scores)
        candidate = [True, True, True, ...]    # the same items with the new one, in the same order
        assert_no_regression(base, candidate, margin=0.05)

``assert_no_regression`` fails only when a regression beyond ``margin`` is established (its lower
confidence bound exceeds it), so judge noise does not fail a suite; ``noninferiority=True`` asks more:
the regression's upper bound must be below the margin. Booleans are compared as pass/fail (McNemar's exact
test), numbers as scores (Wilcoxon signed-rank); the interval is a paired bootstrap
(``jurist.evaluation.paired``). The plugin adds a fixture, ``jurist_no_regression``, that is the same
function."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from jurist.evaluation.paired import Paired, compare_pass, compare_scores, gate

try:  # the plugin's fixture, when pytest is there (Jurist itself does not need it)
    import pytest
except ImportError:  # pragma: no cover - without pytest the functions still work
    pytest = None  # type: ignore[assignment]


def compare(
    base: Sequence[bool] | Sequence[float], candidate: Sequence[bool] | Sequence[float], *,
    alpha: float = 0.05, margin: float = 0.02, seed: int = 0,
) -> Paired:  # fmt: skip
    """The paired comparison of two lists over the same items, in the same order."""
    if len(base) != len(candidate):
        raise ValueError(f"base has {len(base)} items and candidate {len(candidate)}: pair them item by item")
    if all(isinstance(x, bool) for x in (*base, *candidate)):
        return compare_pass([bool(x) for x in base], [bool(x) for x in candidate], alpha=alpha, margin=margin,
                            seed=seed)  # fmt: skip
    return compare_scores([float(x) for x in base], [float(x) for x in candidate], alpha=alpha, margin=margin,
                          seed=seed)  # fmt: skip


def assert_no_regression(
    base: Sequence[bool] | Sequence[float], candidate: Sequence[bool] | Sequence[float], *,
    margin: float = 0.05, alpha: float = 0.05, noninferiority: bool = False, seed: int = 0,
) -> Paired:  # fmt: skip
    """Raise ``AssertionError`` (with the figures) when the candidate's regression is established."""
    found = compare(base, candidate, alpha=alpha, margin=margin, seed=seed)
    outcome = gate(found, margin, noninferiority=noninferiority)
    if not outcome.passed:
        raise AssertionError(outcome.reason)
    return found


if pytest is not None:

    @pytest.fixture
    def jurist_no_regression() -> Callable[..., Any]:
        """``assert_no_regression``, as a fixture."""
        return assert_no_regression
