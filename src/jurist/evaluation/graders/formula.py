"""The ``multi`` grader's ``calculate_output``: a small, safe arithmetic language over sub-scores.

Grammar (upstream GRADERS): numbers, variables (the sub-graders' keys, each bound to that grader's
score), ``+ - * /``, ``^`` for powers, unary ``-`` and ``+``, parentheses, and the functions
``min max abs floor ceil exp sqrt log``. ``min``/``max`` take one or more arguments, the others
exactly one; ``log`` is the natural logarithm. ``^`` binds tighter than unary minus and groups to the
right, as in mathematics: ``-2^2`` is -4, ``2^3^2`` is 512. Numbers are decimal (``3``, ``0.5``,
``.5``, ``1e-3``). A variable is an identifier of ASCII letters, digits and ``_``, not starting with
a digit and not a Python keyword (``if``, ``lambda``, ``None``…): a sub-grader key outside that form
cannot be referenced. All arithmetic is in floating point.

How it is parsed: ``^`` becomes ``**`` and the text is parsed by :func:`ast.parse` (``mode="eval"``);
the tree is then checked against a whitelist of node types and turned into this module's own small
expression tree. Nothing is ever compiled or executed as Python code: no ``eval``, ``exec`` or
``compile`` to bytecode, no attribute access, subscripts, calls to anything but the eight functions,
lambdas, comprehensions, strings or comparisons.

Errors are :class:`FormulaError`. :func:`parse` raises it for what ``graders/run`` reports as
``formula_parse_error``: a character outside the grammar, an unbalanced parenthesis, a syntax error,
an unknown function, a wrong number of arguments, an unknown variable (when the known names are
given), and these abuse limits: more than :data:`MAX_LENGTH` characters, nesting deeper than
:data:`MAX_DEPTH`, a constant exponent larger than :data:`MAX_EXPONENT` in absolute value
(``9^9^9``). :meth:`Formula.evaluate` raises it for a missing or non-finite variable value, division
by zero, ``sqrt`` of a negative number, ``log`` of a number <= 0, a negative number raised to a
fractional power, an exponent over the limit, and a result that overflows (is not finite): a formula
never returns NaN or infinity.
"""

from __future__ import annotations

import ast
import math
import numbers
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

__all__ = ["FUNCTIONS", "MAX_DEPTH", "MAX_EXPONENT", "MAX_LENGTH", "Formula", "FormulaError", "parse"]

MAX_LENGTH = 4096
"""Longest formula accepted, in characters."""

MAX_DEPTH = 100
"""Deepest expression tree accepted: parentheses, calls and each operator add a level, so a chain
``a + b + c`` is three levels deep and a sum of more than about 100 terms is refused."""

MAX_EXPONENT = 1024.0
"""Largest absolute value of an exponent."""


_TOO_DEEP = f"the formula is nested more than {MAX_DEPTH} levels deep (each operator in a chain counts)"


class FormulaError(ValueError):
    """A formula that cannot be parsed, or cannot be evaluated with the values given."""


def _sqrt(x: float) -> float:
    if x < 0:
        raise FormulaError(f"sqrt of a negative number ({x:g})")
    return math.sqrt(x)


def _log(x: float) -> float:
    if x <= 0:
        raise FormulaError(f"log of a number <= 0 ({x:g})")
    return math.log(x)


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise FormulaError(f"exp({x:g}) overflows") from None


_UNARY: dict[str, Callable[[float], float]] = {
    "abs": abs,
    "floor": lambda x: float(math.floor(x)),
    "ceil": lambda x: float(math.ceil(x)),
    "exp": _exp,
    "sqrt": _sqrt,
    "log": _log,
}
_VARIADIC: dict[str, Callable[..., float]] = {
    "min": lambda *values: min(values),  # min(values) also for a single argument
    "max": lambda *values: max(values),
}
FUNCTIONS = frozenset({*_UNARY, *_VARIADIC})
"""The functions a formula may call."""

_BAD_CHAR = re.compile(r"[^A-Za-z0-9_.\s+\-*/^(),]")
_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SPACE = re.compile(r"\s")


def _power(base: float, exponent: float) -> float:
    if abs(exponent) > MAX_EXPONENT:
        raise FormulaError(f"exponent {exponent:g} is larger than {MAX_EXPONENT:g} in absolute value")
    if base == 0 and exponent < 0:
        raise FormulaError("division by zero (0 raised to a negative power)")
    if base < 0 and not exponent.is_integer():
        raise FormulaError(f"negative number ({base:g}) raised to a fractional power ({exponent:g})")
    try:
        return math.pow(base, exponent)
    except OverflowError:
        raise FormulaError(f"{base:g}^{exponent:g} overflows") from None


def _divide(a: float, b: float) -> float:
    if b == 0:
        raise FormulaError("division by zero")
    return a / b


_BINARY: dict[type[ast.operator], tuple[str, Callable[[float, float], float]]] = {
    ast.Add: ("+", lambda a, b: a + b),
    ast.Sub: ("-", lambda a, b: a - b),
    ast.Mult: ("*", lambda a, b: a * b),
    ast.Div: ("/", _divide),
    ast.Pow: ("^", _power),
}


# The expression tree a formula is compiled into. Each node evaluates itself against the values.
@dataclass(frozen=True, slots=True)
class _Number:
    value: float

    def __call__(self, values: Mapping[str, float]) -> float:
        return self.value


@dataclass(frozen=True, slots=True)
class _Variable:
    name: str

    def __call__(self, values: Mapping[str, float]) -> float:
        try:
            value = values[self.name]
        except KeyError:
            raise FormulaError(f"no value for variable '{self.name}'") from None
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise FormulaError(f"the value of '{self.name}' is not a finite number: {value!r}")
        return float(value)


@dataclass(frozen=True, slots=True)
class _Negate:
    operand: _Node

    def __call__(self, values: Mapping[str, float]) -> float:
        return -self.operand(values)


@dataclass(frozen=True, slots=True)
class _Binary:
    function: Callable[[float, float], float]
    left: _Node
    right: _Node

    def __call__(self, values: Mapping[str, float]) -> float:
        result = self.function(self.left(values), self.right(values))
        if not math.isfinite(result):  # + - * / overflow to infinity silently
            raise FormulaError("a step of the formula overflows (is not a finite number)")
        return result


@dataclass(frozen=True, slots=True)
class _Call:
    function: Callable[..., float]
    arguments: tuple[_Node, ...]

    def __call__(self, values: Mapping[str, float]) -> float:
        return float(self.function(*(argument(values) for argument in self.arguments)))


_Node = _Number | _Variable | _Negate | _Binary | _Call


@dataclass(frozen=True)
class Formula:
    """A parsed formula: its text, the variables it uses, and :meth:`evaluate`."""

    source: str
    variables: frozenset[str]
    _root: _Node

    def evaluate(self, values: Mapping[str, float]) -> float:
        """The formula's value with each variable bound to ``values[name]``; always a finite float.

        Raises :class:`FormulaError` (see the module docstring)."""
        result = self._root(values)
        if not math.isfinite(result):
            raise FormulaError("the result overflows (is not a finite number)")
        return result


class _Builder:
    """Turns a checked :mod:`ast` tree into :data:`_Node` objects, refusing everything else."""

    def __init__(self, source: str, known: Collection[str] | None) -> None:
        self.source = source
        self.known = None if known is None else frozenset(known)
        self.used: set[str] = set()

    def build(self, node: ast.AST, depth: int = 0) -> _Node:
        if depth > MAX_DEPTH:
            raise FormulaError(_TOO_DEEP)
        deeper = depth + 1
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise FormulaError(f"unsupported constant {value!r}: only numbers are allowed")
            text = ast.get_source_segment(self.source, node) or ""
            if not _NUMBER.fullmatch(text):
                raise FormulaError(f"unsupported number {text!r}: write decimal numbers like 2, 0.5, 1e-3")
            try:
                number = float(value)
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                raise FormulaError(f"the number {text[:40]!r} is too large")
            return _Number(number)
        if isinstance(node, ast.Name):
            return self._variable(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self.build(node.operand, deeper)
            return _Negate(operand) if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            symbol, function = _BINARY[type(node.op)]
            left, right = self.build(node.left, deeper), self.build(node.right, deeper)
            if symbol == "^":
                self._check_constant_exponent(right)
            return _Binary(function, left, right)
        if isinstance(node, ast.Call):
            return self._call(node, deeper)
        if isinstance(node, ast.BinOp):
            raise FormulaError("unsupported operator: use + - * / ^")
        raise FormulaError(f"unsupported syntax ({type(node).__name__}): {_describe(node)}")

    def _variable(self, name: str) -> _Variable:
        if self.known is not None and name not in self.known:
            known = ", ".join(sorted(self.known)) or "none"
            raise FormulaError(f"unknown variable '{name}' (known: {known})")
        self.used.add(name)
        return _Variable(name)

    def _call(self, node: ast.Call, depth: int) -> _Call:
        if not isinstance(node.func, ast.Name):
            raise FormulaError(f"unsupported call: {_describe(node.func)} is not a function name")
        name = node.func.id
        if name not in FUNCTIONS:
            raise FormulaError(f"unknown function '{name}' (allowed: {', '.join(sorted(FUNCTIONS))})")
        if node.keywords or any(isinstance(argument, ast.Starred) for argument in node.args):
            raise FormulaError(f"{name}() takes plain arguments only")
        arguments = tuple(self.build(argument, depth) for argument in node.args)
        if name in _VARIADIC:
            if not arguments:
                raise FormulaError(f"{name}() needs at least one argument")
            return _Call(_VARIADIC[name], arguments)
        if len(arguments) != 1:
            raise FormulaError(f"{name}() takes exactly one argument, got {len(arguments)}")
        return _Call(_UNARY[name], arguments)

    @staticmethod
    def _check_constant_exponent(exponent: _Node) -> None:
        """Refuse at parse time a variable-free exponent over the limit (``9^9^9``)."""
        if _has_variables(exponent):
            return
        value = exponent({})  # raises FormulaError itself for an inner exponent over the limit
        if abs(value) > MAX_EXPONENT:
            raise FormulaError(f"exponent {value:g} is larger than {MAX_EXPONENT:g} in absolute value")


def _has_variables(node: _Node) -> bool:
    if isinstance(node, _Variable):
        return True
    if isinstance(node, _Negate):
        return _has_variables(node.operand)
    if isinstance(node, _Binary):
        return _has_variables(node.left) or _has_variables(node.right)
    if isinstance(node, _Call):
        return any(_has_variables(argument) for argument in node.arguments)
    return False


def _describe(node: ast.AST) -> str:
    text = ast.unparse(node).replace("**", "^")
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _check_text(formula: str) -> None:
    """Length, characters and parentheses, checked before parsing for clear messages."""
    if len(formula) > MAX_LENGTH:
        raise FormulaError(f"the formula is longer than {MAX_LENGTH} characters")
    if not formula.strip():
        raise FormulaError("the formula is empty")
    bad = _BAD_CHAR.search(formula)
    if bad is not None:
        raise FormulaError(f"unexpected character {bad.group()!r} at position {bad.start()}")
    if "**" in formula:
        raise FormulaError("'**' is not an operator here: use ^ for powers")
    open_at: list[int] = []
    for position, char in enumerate(formula):
        if char == "(":
            open_at.append(position)
            if len(open_at) > MAX_DEPTH:
                raise FormulaError(_TOO_DEEP)
        elif char == ")":
            if not open_at:
                raise FormulaError(f"unbalanced parenthesis: ')' at position {position} has no matching '('")
            open_at.pop()
    if open_at:
        raise FormulaError(f"unbalanced parenthesis: '(' at position {open_at[-1]} is never closed")


def _original_position(formula: str, position: int) -> int:
    """Where ``position`` of the parsed text (each ``^`` written as ``**``) is in ``formula``."""
    parsed = 0
    for index, char in enumerate(formula):
        if parsed >= position:
            return index
        parsed += 2 if char == "^" else 1
    return len(formula)


def parse(formula: str, known: Collection[str] | None = None) -> Formula:
    """Parse ``formula``; with ``known``, every variable must be one of those names.

    Raises :class:`FormulaError` with a message that names the problem (see the module docstring)."""
    _check_text(formula)
    # One line (every whitespace character becomes a space), "^" → "**"; nothing else changes.
    source = _SPACE.sub(" ", formula).replace("^", "**")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as error:
        where = ""
        if error.offset is not None:
            lead = len(source) - len(source.lstrip())
            where = f" at position {_original_position(formula, lead + error.offset - 1)}"
        raise FormulaError(f"invalid formula syntax{where}: {error.msg}") from None
    except (RecursionError, MemoryError):
        raise FormulaError(_TOO_DEEP) from None
    builder = _Builder(source.strip(), known)
    try:
        root = builder.build(tree.body)
    except RecursionError:
        raise FormulaError(_TOO_DEEP) from None
    return Formula(formula, frozenset(builder.used), root)
