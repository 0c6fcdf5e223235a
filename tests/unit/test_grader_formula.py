"""The multi grader's calculate_output formula (evals.md §4.3 multi, checklist 25)."""

from __future__ import annotations

import math

import pytest

from jurist.evaluation.graders.formula import (
    FUNCTIONS,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_LENGTH,
    Formula,
    FormulaError,
    parse,
)


def value(formula: str, **values: float) -> float:
    return parse(formula).evaluate(values)


def test_upstream_graders_example() -> None:
    formula = parse("(name + email) / 2", known={"name", "email"})
    assert isinstance(formula, Formula)
    assert formula.variables == {"name", "email"}
    assert formula.source == "(name + email) / 2"
    assert formula.evaluate({"name": 1.0, "email": 0.5}) == pytest.approx(0.75, rel=1e-6)


def test_upstream_spec_example_has_an_unbalanced_parenthesis() -> None:
    spec = "0.5 * text_similarity_score +  0.5 * string_check_score)"
    with pytest.raises(FormulaError, match=r"unbalanced parenthesis: '\)' at position 55"):
        parse(spec, known={"text_similarity_score", "string_check_score"})


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("1 + 2", 3.0),
        ("5 - 7", -2.0),
        ("3 * 4", 12.0),
        ("1 / 4", 0.25),
        ("2 ^ 10", 1024.0),
        ("2^0.5", math.sqrt(2)),
        ("4 ^ -1", 0.25),
        ("(-8) ^ 3", -512.0),  # a negative base with an integral exponent
        ("-2 ^ 2", -4.0),  # ^ binds tighter than unary minus
        ("2 ^ 3 ^ 2", 512.0),  # and groups to the right
        ("-(3)", -3.0),
        ("--3", 3.0),
        ("+3", 3.0),
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("10 / 4 / 5", 0.5),  # left to right
        ("10 - 4 - 3", 3.0),
        (".5 + 1e-1 + 2.", 2.6),
        ("min(3, 1, 2)", 1.0),
        ("max(3, 1, 2)", 3.0),
        ("min(7)", 7.0),
        ("abs(-2.5)", 2.5),
        ("floor(2.7)", 2.0),
        ("floor(-2.5)", -3.0),
        ("ceil(2.1)", 3.0),
        ("exp(0)", 1.0),
        ("exp(1)", math.e),
        ("sqrt(16)", 4.0),
        ("log(1)", 0.0),
        ("log(exp(2))", 2.0),
        ("max(0, min(1, 1.5))", 1.0),
        ("  1\n+\t2  ", 3.0),
    ],
)
def test_operators_and_functions(formula: str, expected: float) -> None:
    result = value(formula)
    assert isinstance(result, float)
    assert result == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_variables() -> None:
    formula = parse("0.7 * a + 0.3 * max(b, c) ^ 2", known=["a", "b", "c", "unused"])
    assert formula.variables == {"a", "b", "c"}
    assert formula.evaluate({"a": 1, "b": 0.5, "c": 0.2}) == pytest.approx(0.775, rel=1e-6)
    assert parse("x_1 + _y").evaluate({"x_1": 1.0, "_y": 2.0}) == 3.0
    assert sorted(FUNCTIONS) == ["abs", "ceil", "exp", "floor", "log", "max", "min", "sqrt"]


def test_a_formula_is_reusable() -> None:
    formula = parse("(a + b) / 2")
    assert [formula.evaluate({"a": a, "b": 1.0}) for a in (0.0, 1.0)] == [0.5, 1.0]


@pytest.mark.parametrize(
    ("formula", "known", "message"),
    [
        ("a + x", {"a"}, "unknown variable 'x'"),
        ("foo(a)", {"a"}, "unknown function 'foo'"),
        ("a(1)", {"a"}, "unknown function 'a'"),
        ("min + 1", {"a"}, "unknown variable 'min'"),
        ("(a + 1", {"a"}, r"unbalanced parenthesis: '\(' at position 0 is never closed"),
        ("a + 1)", {"a"}, "unbalanced parenthesis"),
        ("", None, "empty"),
        ("   ", None, "empty"),
        ("a +", None, "invalid formula syntax"),
        ("a b", None, "invalid formula syntax"),
        ("1 +* 2", None, "invalid formula syntax"),
        ("min()", None, "needs at least one argument"),
        ("sqrt(1, 2)", None, "exactly one argument"),
        ("abs()", None, "exactly one argument"),
        ("min(a=1)", None, "unexpected character '='"),
        ("a ** 2", None, "use \\^ for powers"),
        ("a // 2", None, "unsupported operator"),
        ("a % 2", None, "unexpected character '%'"),
        ("a < b", None, "unexpected character '<'"),
        ("a and b", None, "unsupported syntax"),
        ("not a", None, "unsupported syntax"),
        ("a if b else c", None, "unsupported syntax"),
        ("(a, b)", None, "unsupported syntax"),
        ("True", None, "unsupported constant"),
        ("None", None, "unsupported constant"),
        ("1j", None, "unsupported constant"),
        ("0x10", None, "unsupported number"),
        ("1_000", None, "unsupported number"),
        ("1e999", None, "too large"),
        ("9" * 400, None, "too large"),
    ],
)
def test_parse_errors(formula: str, known: set[str] | None, message: str) -> None:
    with pytest.raises(FormulaError, match=message):
        parse(formula, known)


@pytest.mark.parametrize(
    "formula",
    [
        "__import__('os')",
        "__import__(os)",
        "__import__('os').system('id')",
        "a.__class__",
        "a.real",
        "(1).__class__.__bases__",
        "lambda: 1",
        "(lambda x: x)(1)",
        "[x for x in a]",
        "(x for x in a)",
        "{x: 1 for x in a}",
        "{1, 2}",
        "a[0]",
        "a[0:1]",
        "open('/etc/passwd')",
        "eval('1')",
        "exec('1')",
        "compile('1', 'x', 'eval')",
        "getattr(a, 'b')",
        "globals()",
        "(a := 1)",
        "'a' + 'b'",
        "b'x'",
        "f'{a}'",
        "a; b",
        "a\nimport os",
        "*a",
        "min(*a)",
        "print(1)",
        "9^9^9",
        "2^2000",
        "a ^ (10 ^ 5)",
        "-" * 3000 + "1",
        "(" * 200 + "1" + ")" * 200,
        " + ".join(["a"] * (MAX_DEPTH + 5)),
        "1" + " + 1" * 2100,  # over the length cap
    ],
)
def test_injection_and_abuse_are_refused(formula: str) -> None:
    with pytest.raises(FormulaError):
        parse(formula)


def test_limits() -> None:
    assert MAX_LENGTH == 4096
    with pytest.raises(FormulaError, match="longer than 4096"):
        parse("a" * (MAX_LENGTH + 1))
    assert parse("a" * MAX_LENGTH).variables == {"a" * MAX_LENGTH}
    with pytest.raises(FormulaError, match=r"exponent 3\.8742e\+08 is larger than 1024"):
        parse("9^9^9")
    assert MAX_EXPONENT == 1024
    assert value("1 ^ 1024") == 1.0
    assert value("2 ^ 1023") == 2.0**1023
    with pytest.raises(FormulaError, match="overflows"):
        value("2 ^ 1024")
    with pytest.raises(FormulaError, match="larger than 1024"):
        value("1 ^ 1025")
    assert parse(" + ".join(["a"] * 50)).evaluate({"a": 1.0}) == 50.0


@pytest.mark.parametrize(
    ("formula", "values", "message"),
    [
        ("a / b", {"a": 1.0, "b": 0.0}, "division by zero"),
        ("1 / (a - a)", {"a": 0.3}, "division by zero"),
        ("b ^ -1", {"b": 0.0}, "division by zero"),
        ("log(a)", {"a": 0.0}, "log of a number <= 0"),
        ("log(a)", {"a": -1.0}, "log of a number <= 0"),
        ("sqrt(a)", {"a": -0.01}, "sqrt of a negative number"),
        ("a ^ 0.5", {"a": -8.0}, "fractional power"),
        ("exp(a)", {"a": 1000.0}, "overflows"),
        ("a ^ 1000", {"a": 10.0}, "overflows"),
        ("2 ^ a", {"a": 5000.0}, "exponent 5000 is larger than 1024"),
        ("a * a", {"a": 1e200}, "overflows"),
        ("floor(a * 1e10)", {"a": 1e300}, "overflows"),
        ("a + b", {"a": 1.0}, "no value for variable 'b'"),
        ("a", {"a": math.nan}, "not a finite number"),
        ("a", {"a": math.inf}, "not a finite number"),
    ],
)
def test_evaluation_errors(formula: str, values: dict[str, float], message: str) -> None:
    with pytest.raises(FormulaError, match=message):
        parse(formula).evaluate(values)


def test_non_numeric_values_are_refused() -> None:
    formula = parse("a + 1")
    for bad in ("1", None, True, [1.0]):
        with pytest.raises(FormulaError, match="not a finite number"):
            formula.evaluate({"a": bad})  # type: ignore[dict-item]
    assert formula.evaluate({"a": 2}) == 3.0  # an int is fine


def test_errors_are_value_errors() -> None:
    assert issubclass(FormulaError, ValueError)
