"""JSON as a type: ``JSONObject`` is a JSON object whose values are JSON (``pydantic.JsonValue``, a
recursive union), so reading a field needs a check, as data from outside deserves — unlike
a mapping to ``Any``, which lets anything through unchecked."""

from __future__ import annotations

from pydantic import JsonValue

JSONObject = dict[str, JsonValue]

__all__ = ["JSONObject", "JsonValue"]
