"""The console's integers from query strings and forms: ASCII digits only (``"²".isdigit()`` is True
but ``int("²")`` fails), an optional leading minus where allowed, and at most ``MAX_DIGITS`` digits
(Python refuses to parse more than 4,300, and nothing the console counts needs more than 18)."""

from __future__ import annotations

from jurist.errors import InvalidRequest

MAX_DIGITS = 18


def as_int(text: str, signed: bool = False) -> int | None:
    """``text`` as an integer, or None when it is not one (within the limits above)."""
    digits = text[1:] if signed and text.startswith("-") else text
    if not digits or len(digits) > MAX_DIGITS or not (digits.isascii() and digits.isdigit()):
        return None
    return int(text)


def int_param(raw: str, name: str, signed: bool = False) -> int:
    """``raw`` (the value of parameter ``name``) as an integer; a 400 page when it is not one."""
    found = as_int(raw, signed)
    if found is None:
        kind = "an integer" if signed else "a non-negative integer"
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise InvalidRequest(
            f"{name} must be {kind} of at most {MAX_DIGITS} digits, got {shown!r}.", param=name
        )
    return found
