"""OpenAI grader templating: ``{{ item.x }}`` and ``{{ sample.y }}`` variables in grader strings.

Syntax (upstream GRADERS guide and SPEC examples):

* A variable is ``{{ path }}``; whitespace inside the braces is ignored, so ``{{item.x}}`` and
  ``{{ item.x }}`` are the same variable.
* ``path`` starts with a namespace, ``item`` (the data row) or ``sample`` (the model's output), followed
  by at least one step: ``.key`` looks a key up in an object, ``[n]`` takes element ``n`` (0-based,
  non-negative) of an array: ``{{ item.reference.donors }}``,
  ``{{ sample.output_tools[0].function.name }}``. A key is any run of characters other than ``.``,
  ``[``, ``]``, braces and whitespace. ``.key`` only applies to objects and ``[n]`` only to arrays.
* Text outside ``{{ … }}`` is copied as it is; a lone ``}}`` is plain text. There is no escape for a
  literal ``{{``.

Rendering: a string value is inserted as it is. Any other value is inserted as compact JSON
(``json.dumps`` with separators ``,``/``:``, non-ASCII kept, key order kept; a value JSON cannot
express, which data parsed from JSON never holds, falls back to ``str``): ``null``, ``true``,
``3``, ``0.5``, ``{"a":[1,2]}``. Upstream does not document this choice (Python ``repr`` would be the
other candidate); JSON is what a JSON-speaking client expects to see. :func:`value_of` returns the raw
value instead when the whole template is one variable (for inputs that take structured data).

Errors: :class:`TemplateError` for a malformed template (unclosed ``{{``, empty or malformed variable,
unknown namespace), found without any data by :func:`check` / :func:`variables`; :class:`MissingVariable`
when a well-formed path does not resolve in the data (absent key, index out of range, a step into a
value of the wrong kind). ``graders/run`` reports the latter as ``invalid_variable_error``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

__all__ = [
    "NAMESPACES",
    "MissingVariable",
    "TemplateError",
    "check",
    "render",
    "resolve",
    "to_text",
    "value_of",
    "variables",
]

NAMESPACES = ("item", "sample")

_OPEN = "{{"
_CLOSE = "}}"
_KEY = r"[^.\[\]{}\s]+"
_PATH_RE = re.compile(rf"(?P<ns>{_KEY})(?P<steps>(?:\.{_KEY}|\[\d+\])*)")
_STEP_RE = re.compile(rf"\.(?P<key>{_KEY})|\[(?P<index>\d+)\]")

Step = str | int
"""One step of a path: a key (``str``) into an object or an index (``int``) into an array."""


class TemplateError(ValueError):
    """A malformed template: the message names the problem and where it is."""


class MissingVariable(ValueError):
    """A template variable that does not resolve in the data; ``path`` is the variable (``item.x``)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"variable '{path}' cannot be resolved: {reason}")


class _Variable:
    """A parsed ``{{ path }}``: its text (``item.a[0]``) and its steps after the namespace."""

    __slots__ = ("namespace", "path", "steps")

    def __init__(self, path: str, namespace: str, steps: tuple[Step, ...]) -> None:
        self.path = path
        self.namespace = namespace
        self.steps = steps


_Part = str | _Variable


def _parse_path(text: str, where: str) -> _Variable:
    match = _PATH_RE.fullmatch(text)
    if match is None:
        raise TemplateError(f"malformed variable '{text}' {where}")
    namespace = match["ns"]
    if namespace not in NAMESPACES:
        raise TemplateError(
            f"unknown namespace '{namespace}' in variable '{text}' {where}: use 'item' or 'sample'"
        )
    steps: list[Step] = []
    for step in _STEP_RE.finditer(match["steps"]):
        key, index = step["key"], step["index"]
        steps.append(key if key is not None else int(index))
    if not steps:
        raise TemplateError(
            f"variable '{text}' {where} names only a namespace: add a field, e.g. '{namespace}.name'"
        )
    return _Variable(text, namespace, tuple(steps))


@lru_cache(maxsize=1024)
def _parse(text: str) -> tuple[_Part, ...]:
    """Split a template into literal text and variables; cached, since one template grades many rows."""
    parts: list[_Part] = []
    position = 0
    while True:
        start = text.find(_OPEN, position)
        if start < 0:
            break
        end = text.find(_CLOSE, start + len(_OPEN))
        nested = text.find(_OPEN, start + len(_OPEN))
        if end < 0 or 0 <= nested < end:  # no "}}", or another "{{" opens before it
            raise TemplateError(f"unclosed '{{{{' at position {start}")
        inner = text[start + len(_OPEN) : end].strip()
        where = f"at position {start}"
        if not inner:
            raise TemplateError(f"empty variable '{{{{}}}}' {where}")
        if start > position:
            parts.append(text[position:start])
        parts.append(_parse_path(inner, where))
        position = end + len(_CLOSE)
    if position < len(text):
        parts.append(text[position:])
    return tuple(parts)


def check(text: str) -> None:
    """Raise :class:`TemplateError` if ``text`` is not a well-formed template (no data needed)."""
    _parse(text)


def variables(text: str) -> list[str]:
    """The variable paths ``text`` uses (``["item.answer", "sample.output_text"]``), each once, in
    order of first use. Raises :class:`TemplateError` for a malformed template."""
    seen: dict[str, None] = {}
    for part in _parse(text):
        if isinstance(part, _Variable):
            seen.setdefault(part.path, None)
    return list(seen)


def _lookup(variable: _Variable, context: Mapping[str, object]) -> object:
    if variable.namespace not in context:
        raise MissingVariable(variable.path, f"there is no '{variable.namespace}' in this context")
    value: object = context[variable.namespace]
    done = variable.namespace
    for step in variable.steps:
        if isinstance(step, int):
            if not isinstance(value, Sequence) or isinstance(value, str | bytes):
                raise MissingVariable(variable.path, f"'{done}' is not an array")
            if step >= len(value):
                raise MissingVariable(variable.path, f"'{done}' has {len(value)} elements")
            value = value[step]
            done = f"{done}[{step}]"
        else:
            if not isinstance(value, Mapping):
                raise MissingVariable(variable.path, f"'{done}' is not an object")
            if step not in value:
                raise MissingVariable(variable.path, f"'{done}' has no key '{step}'")
            value = value[step]
            done = f"{done}.{step}"
    return value


def resolve(path: str, context: Mapping[str, object]) -> object:
    """The value at ``path`` (``item.a.b``, ``sample.output_tools[0].id``, no braces) in ``context``,
    a mapping with the namespaces as keys. Raises :class:`TemplateError` for a malformed path and
    :class:`MissingVariable` when it does not resolve."""
    return _lookup(_parse_path(path.strip(), "in path"), context)


def to_text(value: object) -> str:
    """How a value is inserted into a template: a string as it is, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def render(text: str, context: Mapping[str, object]) -> str:
    """``text`` with every variable replaced by its value from ``context`` (see :func:`to_text`).
    Raises :class:`TemplateError` (malformed) or :class:`MissingVariable` (unresolvable)."""
    parts = _parse(text)
    if len(parts) == 1 and isinstance(parts[0], str):
        return parts[0]
    return "".join(part if isinstance(part, str) else to_text(_lookup(part, context)) for part in parts)


def value_of(text: str, context: Mapping[str, object]) -> object:
    """The raw value (object, array, number, …) when ``text`` is exactly one variable, surrounding
    whitespace aside (``"{{ item.tags }}"``); otherwise the rendered string, as :func:`render`."""
    parts = _parse(text)
    variables_only = [part for part in parts if isinstance(part, _Variable)]
    if len(variables_only) == 1 and all(isinstance(p, _Variable) or not p.strip() for p in parts):
        return _lookup(variables_only[0], context)
    return render(text, context)
