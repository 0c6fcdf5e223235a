"""Grader templating: ``{{ item.x }}`` / ``{{ sample.y[0].z }}`` (evals.md §4.2, checklist 26)."""

from __future__ import annotations

import pytest

from jurist.evaluation.graders.template import (
    MissingVariable,
    TemplateError,
    check,
    render,
    resolve,
    to_text,
    value_of,
    variables,
)

CONTEXT: dict[str, object] = {
    "item": {
        "question": "Capital of France?",
        "reference_answer": {"donors": ["Ann", "Bo"], "total": 3, "ratio": 0.5},
        "label": "positive",
        "missing": None,
        "flag": True,
        "unicode": "Zürich 東京",
        "rows": [[1, 2], [3, 4]],
        "dashed-key": "ok",
    },
    "sample": {
        "output_text": "Paris",
        "output_json": {"answer": "Paris", "confidence": 0.9},
        "output_tools": [
            {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q":"x"}'}}
        ],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris"}}],
    },
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{item.label}}", "positive"),
        ("{{ item.label }}", "positive"),
        ("{{   item.label\t}}", "positive"),
        ("{{\nitem.label\n}}", "positive"),
        ("Q: {{ item.question }} A: {{sample.output_text}}.", "Q: Capital of France? A: Paris."),
        ("{{ sample.output_tools[0].function.name }}", "lookup"),
        ("{{sample.choices[0].message.content}}", "Paris"),
        ("{{ item.rows[1][0] }}", "3"),
        ("{{ item.reference_answer.donors[1] }}", "Bo"),
        ("{{ item.dashed-key }}", "ok"),
        ("{{ item.unicode }}", "Zürich 東京"),
        ("no variables at all", "no variables at all"),
        ("", ""),
        ("a }} b { c }", "a }} b { c }"),
        ("{{item.label}}{{item.label}}", "positivepositive"),
    ],
)
def test_render(template: str, expected: str) -> None:
    assert render(template, CONTEXT) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ item.reference_answer }}", '{"donors":["Ann","Bo"],"total":3,"ratio":0.5}'),
        ("{{ item.reference_answer.donors }}", '["Ann","Bo"]'),
        ("{{ item.reference_answer.total }}", "3"),
        ("{{ item.reference_answer.ratio }}", "0.5"),
        ("{{ item.missing }}", "null"),
        ("{{ item.flag }}", "true"),
        ("{{ sample.output_json }}", '{"answer":"Paris","confidence":0.9}'),
        ("x={{ item.rows }}", "x=[[1,2],[3,4]]"),
        # a string inside a structure is JSON-quoted; non-ASCII is kept as it is
        ("{{ sample.output_tools[0].function }}", '{"name":"lookup","arguments":"{\\"q\\":\\"x\\"}"}'),
    ],
)
def test_non_strings_render_as_compact_json(template: str, expected: str) -> None:
    assert render(template, CONTEXT) == expected


def test_to_text() -> None:
    assert to_text('a"b') == 'a"b'
    assert to_text({"k": "ü"}) == '{"k":"ü"}'
    assert to_text(None) == "null"
    assert to_text(False) == "false"


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("{{ item.answer }}", "item.answer"),
        ("text {{item.reference_answer.missing}} text", "item.reference_answer.missing"),
        ("{{ item.reference_answer.donors[2] }}", "item.reference_answer.donors[2]"),
        ("{{ item.label.x }}", "item.label.x"),  # a step into a string
        ("{{ item.label[0] }}", "item.label[0]"),  # a string is not an array
        ("{{ item.reference_answer[0] }}", "item.reference_answer[0]"),  # an object is not an array
        ("{{ item.rows.first }}", "item.rows.first"),  # an array is not an object
        ("{{ item.missing.x }}", "item.missing.x"),  # null has no fields
        ("{{ sample.output_tools[1].function.name }}", "sample.output_tools[1].function.name"),
    ],
)
def test_missing_variable_carries_its_path(template: str, path: str) -> None:
    with pytest.raises(MissingVariable) as caught:
        render(template, CONTEXT)
    assert caught.value.path == path
    assert f"'{path}'" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_missing_namespace() -> None:
    with pytest.raises(MissingVariable) as caught:
        render("{{ sample.output_text }}", {"item": {}})
    assert caught.value.path == "sample.output_text"
    assert "no 'sample'" in caught.value.reason


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{{ item.x", "unclosed '{{' at position 0"),
        ("ok {{ item.x }} then {{ item.y", "unclosed '{{' at position 21"),
        ("{{ item.x {{ item.y }}", "unclosed '{{' at position 0"),
        ("{{}}", "empty variable"),
        ("{{   }}", "empty variable"),
        ("{{ foo.x }}", "unknown namespace 'foo'"),
        ("{{ items.x }}", "unknown namespace 'items'"),
        ("{{ Item.x }}", "unknown namespace 'Item'"),
        ("{{ item }}", "names only a namespace"),
        ("{{ item.x[a] }}", "malformed variable 'item.x[a]'"),
        ("{{ item.x[-1] }}", "malformed variable"),
        ("{{ item..x }}", "malformed variable"),
        ("{{ item.x. }}", "malformed variable"),
        ("{{ item.x y }}", "malformed variable"),
        ("{{ item['x'] }}", "malformed variable"),
    ],
)
def test_malformed_templates_are_rejected_without_data(template: str, problem: str) -> None:
    with pytest.raises(TemplateError, match=problem.replace("[", r"\[").replace("{", r"\{")):
        check(template)
    with pytest.raises(TemplateError):
        variables(template)
    with pytest.raises(TemplateError):
        render(template, CONTEXT)


def test_errors_are_distinct() -> None:
    assert issubclass(TemplateError, ValueError)
    assert issubclass(MissingVariable, ValueError)
    assert not issubclass(MissingVariable, TemplateError)


def test_variables_lists_each_path_once_in_order() -> None:
    template = (
        "{{ sample.output_text }} vs {{item.label}} and {{ item.label }}, {{sample.output_tools[0].id}}"
    )
    assert variables(template) == ["sample.output_text", "item.label", "sample.output_tools[0].id"]
    assert variables("plain") == []
    check(template)  # well-formed: no exception


def test_value_of_a_single_variable_is_the_raw_value() -> None:
    assert value_of("{{ item.reference_answer }}", CONTEXT) == {
        "donors": ["Ann", "Bo"],
        "total": 3,
        "ratio": 0.5,
    }
    assert value_of("  {{item.reference_answer.total}}\n", CONTEXT) == 3
    assert value_of("{{ item.missing }}", CONTEXT) is None
    assert value_of("{{ item.label }}", CONTEXT) == "positive"


def test_value_of_anything_else_is_the_rendered_text() -> None:
    assert value_of("n={{ item.reference_answer.total }}", CONTEXT) == "n=3"
    assert value_of("{{ item.label }}{{ item.label }}", CONTEXT) == "positivepositive"
    assert value_of("plain", CONTEXT) == "plain"
    with pytest.raises(MissingVariable):
        value_of("{{ item.nope }}", CONTEXT)


def test_resolve() -> None:
    assert resolve("sample.output_tools[0].function.name", CONTEXT) == "lookup"
    assert resolve(" item.rows[0] ", CONTEXT) == [1, 2]
    with pytest.raises(MissingVariable) as caught:
        resolve("item.answer", CONTEXT)
    assert caught.value.path == "item.answer"
    with pytest.raises(TemplateError, match="unknown namespace"):
        resolve("row.answer", CONTEXT)


def test_values_are_not_re_rendered() -> None:
    context = {"item": {"a": "{{ item.b }}", "b": "secret"}}
    assert render("{{ item.a }}", context) == "{{ item.b }}"
