"""The error reference: Jurist's one error tree (``jurist.errors``), walked from ``JuristError``: each
class with its HTTP status, OpenAI ``type``, ``code`` and default message (its docstring)."""

from __future__ import annotations

import jurist.errors as errors


def _rows(cls: type[errors.JuristError], depth: int, out: list[str]) -> None:
    indent = "&nbsp;&nbsp;&nbsp;&nbsp;" * depth
    code = (
        f"`{cls.code}`" if cls.code else "(given per error)" if cls.type == "invalid_request_error" else "—"
    )
    message = (cls.__doc__ or "").strip().splitlines()[0]
    out.append(f"| {indent}`{cls.__name__}` | {cls.status_code} | `{cls.type}` | {code} | {message} |")
    for sub in sorted(cls.__subclasses__(), key=lambda c: c.__name__):
        if sub.__module__ == errors.__name__:
            _rows(sub, depth + 1, out)


def render() -> str:
    out = ["| error | status | type | code | default message |", "|---|---|---|---|---|"]
    _rows(errors.JuristError, 0, out)
    return "\n".join(out) + "\n"
