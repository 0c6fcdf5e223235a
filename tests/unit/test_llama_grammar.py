"""The verdict grammar's strings are strict JSON strings (no raw control characters)."""

from __future__ import annotations

import json

from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

from jurist.backends.llama_constrained import json_grammar

SCHEMA = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 5}}, "required": ["a"]}


def test_string_characters_exclude_control_characters() -> None:
    loose = json_schema_to_gbnf(json.dumps(SCHEMA))
    strict = json_grammar(SCHEMA)
    assert 'char ::= [^"\\\\]' in loose  # llama-cpp-python's converter admits raw newlines
    assert 'char ::= [^"\\\\\\x7F\\x00-\\x1F]' in strict and 'char ::= [^"\\\\] ' not in strict
    LlamaGrammar.from_string(strict, verbose=False)  # still a valid grammar
