"""Request checks every service shares: pydantic validation errors turned into one clear message and an
OpenAI ``param`` path, and a paired comparison's settings (runs, batches, head-to-head figures)."""

from __future__ import annotations

from pydantic import ValidationError

from jurist.errors import InvalidRequest

_TYPE_TAGS = {"str", "int", "float", "bool", "none", "list", "dict", "tuple"}


def _is_tag(part: str | int) -> bool:
    if isinstance(part, int):
        return False
    return "[" in part or part.lower() in _TYPE_TAGS or part[:1].isupper()


def _path(loc: tuple[str | int, ...], prefix: str = "") -> str:
    out = prefix
    for part in loc:
        if _is_tag(part):
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def first_error(exc: ValidationError, prefix: str = "") -> tuple[str, str | None]:
    """(message, param) for the most specific error; union branches are folded together."""
    errors = exc.errors(include_url=False)
    if not errors:
        return "Invalid request.", prefix or None
    best = max(errors, key=lambda e: len([p for p in e["loc"] if not _is_tag(p)]))
    param = _path(tuple(best["loc"]), prefix) or None
    kind = best["type"]
    if kind == "missing":
        message = f"Missing required field '{param}'."
    elif kind == "extra_forbidden":
        message = f"Unknown field '{param}'."
    else:
        message = f"Invalid value for '{param}': {best['msg']}."
    return message, param


def check_comparison(margin: float, alpha: float) -> None:
    """A paired comparison's practical ``margin`` in (0, 1) and significance level ``alpha`` in (0, 0.5]:
    a 400 naming the parameter otherwise."""
    if not 0 < margin < 1:
        raise InvalidRequest(f"margin must be in (0, 1), got {margin}.", param="margin")
    if not 0 < alpha <= 0.5:
        raise InvalidRequest(f"alpha must be in (0, 0.5], got {alpha}.", param="alpha")
