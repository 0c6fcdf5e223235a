from __future__ import annotations

from typing import Any

import pytest

from jurist.backends.base import GenerationRequest
from jurist.backends.openai_compat import OpenAIBackend
from jurist.settings import OpenAIModelConfig

SCHEMA = {"type": "object", "properties": {"overall_score": {"enum": [1, 2, 3, 4, 5]}}}


def backend(**cfg: object) -> OpenAIBackend:
    return OpenAIBackend("pai-judge", OpenAIModelConfig(base_url="http://u/v1", **cfg))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (
            "json_schema",
            {"type": "json_schema", "json_schema": {"name": "verdict", "schema": SCHEMA, "strict": True}},
        ),
        ("json_object", {"type": "json_object"}),
        ("none", None),
    ],
)
def test_structured_output_modes(mode: str, expected: object) -> None:
    body = backend(structured_output=mode, model="qwen").payload(
        GenerationRequest(messages=[{"role": "user", "content": "x"}], json_schema=SCHEMA, temperature=0.0)
    )
    assert body.get("response_format") == expected
    assert body["model"] == "qwen" and body["temperature"] == 0.0
    assert "max_tokens" not in body


def test_callers_response_format_and_extra_fields_pass_through() -> None:
    fmt = {"type": "json_object"}
    body = backend().payload(
        GenerationRequest(messages=[], response_format=fmt, extra={"presence_penalty": 0.5}), stream=True
    )
    assert body["response_format"] == fmt and body["presence_penalty"] == 0.5
    assert body["model"] == "pai-judge" and body["stream"] is True


@pytest.mark.parametrize(
    ("mode", "given", "sent"),
    [
        ("json_schema", {"type": "json_schema", "json_schema": {"name": "g", "schema": SCHEMA}}, "same"),
        ("json_object", {"type": "json_schema", "json_schema": {"name": "g", "schema": SCHEMA}},
         {"type": "json_object"}),
        ("json_object", {"type": "json_object"}, "same"),
        ("none", {"type": "json_schema", "json_schema": {"name": "g", "schema": SCHEMA}}, None),
        ("none", {"type": "json_object"}, None),
        ("none", {"type": "text"}, "same"),
    ],
)  # fmt: skip
def test_callers_response_format_fits_what_the_upstream_takes(mode: str, given: Any, sent: object) -> None:
    """An eval's score_model grader asks for a JSON schema: an upstream configured without schemas gets
    json_object (llama-cpp-python's server answers a schema with a 500), one without JSON modes nothing."""
    body = backend(structured_output=mode).payload(GenerationRequest(messages=[], response_format=given))
    assert body.get("response_format") == (given if sent == "same" else sent)


def test_upstream_key_goes_in_the_authorization_header() -> None:
    assert backend(api_key="sk-up")._headers["Authorization"] == "Bearer sk-up"
    assert "Authorization" not in backend()._headers
