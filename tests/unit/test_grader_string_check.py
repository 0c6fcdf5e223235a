"""The string_check grader: eq / ne (neq) / like / ilike truth tables (evals.md §4.3, checklist 20)."""

from __future__ import annotations

import pytest

from jurist.evaluation.graders.string_check import OPERATIONS, canonical_operation, string_check


@pytest.mark.parametrize(
    ("input", "reference", "eq", "ne", "like", "ilike"),
    [
        ("Paris", "Paris", 1, 0, 1, 1),
        ("Paris", "paris", 0, 1, 0, 1),  # case
        ("PARIS", "paris", 0, 1, 0, 1),
        ("The capital is Paris.", "Paris", 0, 1, 1, 1),  # substring
        ("The capital is PARIS.", "paris", 0, 1, 0, 1),
        ("Paris", "The capital is Paris.", 0, 1, 0, 0),  # the reference must be inside the input
        ("Paris ", "Paris", 0, 1, 1, 1),  # no trimming
        ("", "", 1, 0, 1, 1),  # empty: the empty string is a substring of every string
        ("anything", "", 0, 1, 1, 1),
        ("", "x", 0, 1, 0, 0),
        ("100%", "1%", 0, 1, 0, 0),  # % and _ are literal, not SQL wildcards
        ("a_c", "a_c", 1, 0, 1, 1),
        ("abc", "a_c", 0, 1, 0, 0),
        ("abc", "a%", 0, 1, 0, 0),
        ("50% off", "0% o", 0, 1, 1, 1),
        ("Straße", "STRASSE", 0, 1, 0, 1),  # ilike casefolds
        ("ΣΊΣΥΦΟΣ", "σίσυφος", 0, 1, 0, 1),
        ("e\u0301", "é", 0, 1, 0, 0),  # no Unicode normalisation
    ],
)
def test_truth_table(input: str, reference: str, eq: int, ne: int, like: int, ilike: int) -> None:
    assert string_check(input, reference, "eq") == float(eq)
    assert string_check(input, reference, "ne") == float(ne)
    assert string_check(input, reference, "neq") == float(ne)
    assert string_check(input, reference, "like") == float(like)
    assert string_check(input, reference, "ilike") == float(ilike)


def test_scores_are_floats() -> None:
    for operation in OPERATIONS:
        assert type(string_check("a", "a", operation)) is float


def test_neq_is_an_alias_of_ne() -> None:
    assert OPERATIONS == ("eq", "ne", "like", "ilike")
    assert canonical_operation("neq") == "ne"
    assert [canonical_operation(op) for op in OPERATIONS] == list(OPERATIONS)


@pytest.mark.parametrize("operation", ["EQ", "equals", "", "regex", "ilike "])
def test_unknown_operation(operation: str) -> None:
    with pytest.raises(ValueError, match="unknown string_check operation"):
        string_check("a", "a", operation)
    with pytest.raises(ValueError, match="eq, ne, like, ilike"):
        canonical_operation(operation)
