"""Finding the documentation's code blocks and reading their markers (tests/docs/example_blocks.py), on
small markdown samples: which blocks run, skip reasons, output blocks, continuations, files, and every
markup mistake reported at its line; and how shown output is compared with real output."""

from __future__ import annotations

from pathlib import Path

from tests.docs.example_blocks import (
    DEFAULT_TIMEOUT,
    Page,
    doc_files,
    output_matches,
    parse_page,
    script,
    summary_lines,
)

F = "```"


def page(*lines: str) -> Page:
    return parse_page("\n".join(lines) + "\n", "docs/sample.md")


def test_blocks_have_their_line_language_and_text_and_only_executed_languages_run() -> None:
    sample = page(
        "# Title", "", f"{F}python", "print(1)", F, "", f"{F}bash", "$ echo hi", F,
        f"{F}yaml", "a: 1", F, F, "plain", F, f"{F}py title=\"x.py\"", "x = 1", F,
    )  # fmt: skip
    assert [(b.id, b.lang, b.kind, b.runs) for b in sample.blocks] == [
        ("docs/sample.md:3", "python", "python", True),
        ("docs/sample.md:7", "bash", "shell", True),
        ("docs/sample.md:10", "yaml", None, False),
        ("docs/sample.md:13", "", None, False),
        ("docs/sample.md:16", "py", "python", True),
    ]
    assert sample.blocks[0].text == "print(1)\n"
    assert script(sample.blocks[1]) == "echo hi\n"  # the prompt is stripped
    assert sample.errors == []


def test_indented_tilde_and_longer_fences_are_blocks() -> None:
    sample = page("1. Step:", "", "   ```bash", "   echo one", "     echo two", "   ```", "", "~~~sh", "```", "~~~",
                  "````python", "```", "print(2)", "````")  # fmt: skip
    assert [b.text for b in sample.blocks] == ["echo one\n  echo two\n", "```\n", "```\nprint(2)\n"]
    assert [b.line for b in sample.blocks] == [3, 8, 11]


def test_a_skip_marker_keeps_a_block_from_running_and_gives_its_reason() -> None:
    sample = page(
        "<!-- example: skip: starts a server that runs until stopped -->", f"{F}bash", "make run", F
    )
    (block,) = sample.blocks
    assert block.skip == "starts a server that runs until stopped" and not block.runs
    assert summary_lines([sample]) == [
        "1 files: 0 example blocks run, 0 written as files, 1 not run",
        "1 example blocks not run:",
        "  docs/sample.md:2 — starts a server that runs until stopped",
    ]


def test_a_skip_marker_without_a_reason_is_an_error() -> None:
    for marker in ("<!-- example: skip -->", "<!-- example: skip: -->", "<!-- example: skip:   -->"):
        sample = page("text", marker, f"{F}bash", "make run", F)
        assert sample.errors == [(3, "example marker 'skip' needs a value (a skip must say why)")], marker
        assert sample.error_at(3) is not None


def test_markup_mistakes_are_errors_at_their_line() -> None:
    cases = {
        "<!-- example: skipp: typo -->": "unknown example marker 'skipp'",
        "<!-- example: continue: yes -->": "example marker 'continue' takes no value (got 'yes')",
        "<!-- example: env: 1X=2 -->": "env marker must be NAME=value, not '1X=2'",
        "<!-- example: timeout: soon -->": "timeout marker must be a number of seconds in (0, 3600], not 'soon'",
        "<!-- example: timeout: 0 -->": "timeout marker must be a number of seconds in (0, 3600], not '0'",
        "<!-- example: file: ../out.txt -->": "file marker must name a file inside the working directory, not '../out.txt'",
    }  # fmt: skip
    for marker, message in cases.items():
        assert page("text", f"{F}sh", "true", F, marker, f"{F}sh", "true", F).errors == [(6, message)], marker


def test_a_marker_must_sit_right_before_a_fence_and_be_well_formed() -> None:
    apart = page("<!-- example: skip: why -->", "", f"{F}bash", "make run", F)
    assert apart.errors == [(1, "an example marker must be on the line right before a fence")]
    assert apart.blocks[0].skip is None and apart.blocks[0].runs
    at_end = page(f"{F}bash", "true", F, "<!-- example: output -->")
    assert at_end.errors == [(4, "an example marker must be on the line right before a fence")]
    malformed = page("<!-- example skip: why -->", f"{F}bash", "true", F)
    assert malformed.errors == [(1, "malformed example marker: '<!-- example skip: why -->'")]
    prose = page("Mark it with `<!-- example: skip: why -->` before the fence.", f"{F}bash", "true", F)
    assert prose.errors == []


def test_markers_that_do_not_fit_the_block_are_errors() -> None:
    on_yaml = page("<!-- example: skip: why -->", f"{F}yaml", "a: 1", F)
    assert on_yaml.errors == [
        (2, "a yaml block is never run: only bash, console, curl, py, python, sh, shell blocks run")
    ]
    both = page("<!-- example: skip: why -->", "<!-- example: file: a.sh -->", f"{F}bash", "true", F)
    assert both.errors == [(3, "example markers file and skip exclude each other")]
    twice = page("<!-- example: timeout: 5 -->", "<!-- example: timeout: 6 -->", f"{F}bash", "true", F)
    assert twice.errors == [(3, "example marker 'timeout' given twice")]
    env_on_output = page(
        f"{F}bash", "true", F, "<!-- example: output -->", "<!-- example: env: A=1 -->", f"{F}text", F
    )
    assert env_on_output.errors == [(6, "env: only for a block that runs")]


def test_several_markers_apply_to_one_block() -> None:
    sample = page(
        "<!-- example: env: NAME=a b=c -->", "<!-- example: env: OTHER= -->", "<!-- example: timeout: 2.5 -->",
        "<!-- example: embedded -->", "<!-- example: fails -->", f"{F}bash", "exit 1", F,
    )  # fmt: skip
    (block,) = sample.blocks
    assert sample.errors == []
    assert block.env == {"NAME": "a b=c", "OTHER": ""}
    assert (block.timeout, block.embedded, block.fails, block.runs) == (2.5, True, True, True)
    assert page(f"{F}bash", "true", F).blocks[0].timeout == DEFAULT_TIMEOUT


def test_a_file_block_is_written_not_run_in_any_language() -> None:
    sample = page("<!-- example: file: data/input.jsonl -->", f"{F}jsonl", '{"a": 1}', F,
                  "<!-- example: file: grade.py -->", f"{F}python", "def grade(): ...", F)  # fmt: skip
    assert [(b.file, b.runs) for b in sample.blocks] == [("data/input.jsonl", False), ("grade.py", False)]
    assert sample.errors == []
    assert summary_lines([sample])[0] == "1 files: 0 example blocks run, 2 written as files, 0 not run"


def test_an_output_block_is_the_output_of_the_executed_block_above_it() -> None:
    sample = page(
        f"{F}python", "print('hi')", F, "Prints:", f"{F}json", "{}", F,  # a block that never runs between
        "<!-- example: output -->", f"{F}text", "hi", F,
    )  # fmt: skip
    first, _, shown = sample.blocks
    assert sample.errors == []
    assert first.expected == [(9, "hi\n")]
    assert shown.output and not shown.runs


def test_an_output_block_needs_one_executed_block_above_it() -> None:
    orphan = page(f"{F}yaml", "a: 1", F, "<!-- example: output -->", f"{F}text", "hi", F)
    assert orphan.errors == [(5, "an output block needs an executed block above it")]
    twice = page(f"{F}sh", "echo hi", F, "<!-- example: output -->", f"{F}text", "hi", F,
                 "<!-- example: output -->", f"{F}text", "hi", F)  # fmt: skip
    assert twice.errors == [(9, "docs/sample.md:1 already has its output shown")]


def test_continue_needs_a_running_block_of_its_kind_above() -> None:
    first = page("<!-- example: continue -->", f"{F}python", "x", F)
    assert first.errors == [(2, "nothing to continue: no python block above it on this page")]
    other_kind = page(f"{F}bash", "A=1", F, "<!-- example: continue -->", f"{F}python", "x", F)
    assert other_kind.errors == [(5, "nothing to continue: no python block above it on this page")]
    skipped = page(
        "<!-- example: skip: why -->",
        f"{F}python",
        "x = 1",
        F,
        "<!-- example: continue -->",
        f"{F}python",
        "x",
        F,
    )
    assert skipped.errors == [(6, "continues docs/sample.md:2, which is skipped")]
    console = page(f"{F}bash", "A=1", F, "<!-- example: continue -->", f"{F}console", "$ echo $A", F)
    assert console.errors == [] and console.blocks[1].continues


def test_a_console_block_runs_its_prompts_and_shows_the_rest_as_output() -> None:
    sample = page(f"{F}console", "$ echo one \\", "  two", "one two", "$ echo three", "three", F)
    (block,) = sample.blocks
    assert script(block) == "echo one \\\n  two\necho three\n"
    assert block.expected == [(1, "one two\nthree")]
    bare = page(f"{F}console", "echo hi", F).blocks[0]
    assert (script(bare), bare.expected) == ("echo hi\n", [])


def test_output_is_compared_after_normalising_whitespace() -> None:
    assert output_matches("a  b\n c\n", "a b c")
    assert output_matches('{"x": 1,\n "y": 2}', '{"x": 1, "y": 2}\n')
    assert not output_matches("a b c", "a b d")
    assert not output_matches("a b", "a b c")  # no wildcard: the whole output must match
    assert not output_matches("ab", "a b")
    assert output_matches("", "  \n")
    assert not output_matches("", "anything")


def test_ellipses_in_shown_output_match_anything() -> None:
    shown = '{"id": "batch_…", "status": "completed", "created_at": ...}'
    assert output_matches(shown, '{"id": "batch_0f3a", "status": "completed", "created_at": 1700000000}')
    assert output_matches(shown, '{"id": "batch_", "status": "completed", "created_at": }')
    assert not output_matches(shown, '{"id": "batch_0f3a", "status": "failed", "created_at": 1}')
    assert output_matches("first line\n...\nlast line", "first line\nmany\nlines\nlast line\n")
    assert not output_matches("first line\n...", "a first line and more")
    assert output_matches("(x+y) * [z]? …", "(x+y) * [z]? and more")  # regex characters are literal


def test_the_docs_are_readme_and_every_markdown_file_under_docs(tmp_path: Path) -> None:
    for name in ("README.md", "docs/index.md", "docs/batches/files.md", "docs/notes.txt", "other.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("text\n")
    found = [p.relative_to(tmp_path).as_posix() for p in doc_files(tmp_path)]
    assert found == ["README.md", "docs/batches/files.md", "docs/index.md"]


def test_a_hidden_block_runs_inside_an_html_comment() -> None:
    sample = page(
        "<!-- example: file: make.py -->", "<!-- example: hidden", f"{F}python", "print('batch_1')", F, "-->",
        "<!-- example: hidden", f"{F}bash", "BATCH=$(python make.py)", F, "-->",
        "<!-- example: continue -->", f"{F}bash", "echo $BATCH", F,
    )  # fmt: skip
    made, setup, shown = sample.blocks
    assert sample.errors == []
    assert (made.hidden, made.file, made.runs, made.line) == (True, "make.py", False, 3)
    assert (setup.hidden, setup.runs, setup.line) == (True, True, 8)
    assert (shown.hidden, shown.continues, shown.line) == (False, True, 13)


def test_a_hidden_block_must_close_its_comment_and_be_of_use() -> None:
    unclosed = page("<!-- example: hidden", f"{F}bash", "true", F, "", "-->")
    assert unclosed.errors == [(2, "a hidden block's comment must close (`-->`) right after it")]
    no_fence = page("<!-- example: hidden", "text", "-->")
    assert no_fence.errors == [(1, "a fence must follow `<!-- example: hidden` on the next line")]
    useless = page("<!-- example: hidden", f"{F}yaml", "a: 1", F, "-->")
    assert useless.errors == [(2, "a hidden block must run or be written to a file")]
