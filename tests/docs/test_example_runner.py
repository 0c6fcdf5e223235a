"""Running small markdown pages the way the documentation's examples run (tests/docs/example_runner.py),
against the same live ``jurist serve`` on the judge stub: curl and the SDK reach it from the documented
127.0.0.1:8000 with the documented key names, sessions continue, files serve later blocks; and every
kind of failure fails: an error exit, an HTTP error, an exception, different output, a time limit."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.docs.example_blocks import parse_page
from tests.docs.example_runner import Outcome, PageRun
from tests.docs.example_server import Servers

F = "```"


def run_page(tmp_path: Path, servers: Servers, *lines: str) -> list[Outcome]:
    """Every block of the page that runs, in order; the outcomes."""
    page = parse_page("\n".join(lines) + "\n", "docs/sample.md")
    assert page.errors == []
    run = PageRun(page, tmp_path / "page", servers)
    try:
        return [run.outcome(block) for block in page.blocks if block.runs]
    finally:
        run.close_python()


def test_curl_and_the_sdk_reach_the_server_as_documented(tmp_path: Path, doc_servers: Servers) -> None:
    judge = '{"model": "pai-judge", "messages": [{"role": "user", "content": [{"mode": "single", "type": "json", "json": {"question": "2+2?", "answer": "4"}}]}]}'
    curl, sdk = run_page(
        tmp_path, doc_servers,
        f"{F}bash",
        "curl -s http://127.0.0.1:8000/v1/chat/completions -H \"Authorization: Bearer $JUDGE_MODEL_TOKEN\" \\",
        f"  -H 'Content-Type: application/json' -d '{judge}' | python -c 'import json, sys; j = json.load(sys.stdin)[\"judgment\"]; print(j[\"mode\"], j[\"overall_score\"])'",
        F,
        "<!-- example: output -->", f"{F}text", "single 2", F,
        f"{F}python", "import os", "from openai import OpenAI", "",
        "client = OpenAI(base_url='http://localhost:8000/v1', api_key=os.environ['OPENAI_API_KEY'])",
        "print(client.base_url)", "print(sorted(m.id for m in client.models.list()))", F,
        "<!-- example: output -->", f"{F}text", "http://127.0.0.1:8000/v1/", "['pai-judge', 'pai-judge-auto', 'pai-judge-plus']", F,
    )  # fmt: skip
    assert curl.ok, curl.report()
    assert sdk.ok, sdk.report()
    assert f":{doc_servers.stub.port}/" in sdk.stdout  # the real port, shown as the documented one


def test_continue_keeps_a_python_session_and_a_shell_state(tmp_path: Path, doc_servers: Servers) -> None:
    python_fresh, python_more, python_new, shell_fresh, shell_more, shell_new = run_page(
        tmp_path, doc_servers,
        f"{F}python", "answer = 42", F,
        "<!-- example: continue -->", f"{F}python", "print(answer)", F,
        "<!-- example: output -->", f"{F}text", "42", F,
        f"{F}python", "print(answer)", F,  # a new session
        f"{F}bash", "A='a b'", "mkdir sub && cd sub", "greet() { echo \"hello $1\"; }", F,
        "<!-- example: continue -->", f"{F}console", "$ greet \"$A in $(basename $PWD)\"", "hello a b in sub", F,
        f"{F}bash", "echo \"[${A:-}]\" $(basename $PWD)", F,
        "<!-- example: output -->", f"{F}text", "[] work", F,
    )  # fmt: skip
    assert python_fresh.ok and python_more.ok, python_more.report()
    assert not python_new.ok and "NameError: name 'answer' is not defined" in python_new.stderr
    assert 'File "docs/sample.md:12", line 1' in python_new.stderr  # tracebacks name the docs' line
    assert shell_fresh.ok and shell_more.ok, shell_more.report()
    assert shell_new.ok, shell_new.report()


def test_files_and_earlier_blocks_serve_later_ones(tmp_path: Path, doc_servers: Servers) -> None:
    """A batch, PAI's five steps: the input is a file block, the SDK uploads it and waits for the result."""
    item = '{"question": "Capital of France?", "answer1": "Paris, on the Seine.", "answer2": "Lyon."}'
    line = f'{{"custom_id": "r1", "body": {{"model": "pai-judge", "messages": [{{"role": "user", "content": [{{"mode": "pairwise", "type": "json", "json": {item}}}]}}]}}}}'
    page = parse_page("\n".join([
        "<!-- example: file: input.jsonl -->", f"{F}jsonl", line, F,
        f"{F}python", "import json, time", "from openai import OpenAI", "client = OpenAI()",
        "uploaded = client.files.create(file=open('input.jsonl', 'rb'), purpose='batch')",
        "batch = client.batches.create(endpoint='/v1/chat/completions', input_file_id=uploaded.id, completion_window='24h')",
        "while (batch := client.batches.retrieve(batch.id)).status not in ('completed', 'failed'):",
        "    time.sleep(0.1)",
        "out = json.loads(client.files.content(batch.output_file_id).text)",
        "open('winner.txt', 'w').write(out['response']['body']['judgment']['winner'])",
        "print(batch.status, batch.request_counts.completed)", F,
        "<!-- example: output -->", f"{F}text", "completed 1", F,
        f"{F}sh", "cat winner.txt", F,
        "<!-- example: output -->", f"{F}text", "response_1", F,
    ]), "docs/batch.md")  # fmt: skip
    run = PageRun(page, tmp_path / "page", doc_servers)
    try:
        last = run.outcome(page.blocks[-2])  # asked first: the blocks above it run before it
        assert last.ok, last.report()
        assert run.outcome(page.blocks[1]).ok and run.failed_before(page.blocks[-2]) == []
    finally:
        run.close_python()


def test_a_failing_command_an_http_error_and_an_exception_fail(tmp_path: Path, doc_servers: Servers) -> None:
    exit_code, http_error, exception, marked, marked_but_passing = run_page(
        tmp_path, doc_servers,
        f"{F}bash", "false", "echo not reached", F,
        f"{F}bash", "curl -s http://127.0.0.1:8000/v1/models -H 'Authorization: Bearer wrong'", F,
        f"{F}python", "raise ValueError('broken example')", F,
        "<!-- example: fails -->", f"{F}bash", "curl -s localhost:8000/v1/models/nope -H \"Authorization: Bearer $KEY\"", F,
        "<!-- example: fails -->", f"{F}bash", "true", F,
    )  # fmt: skip
    assert exit_code.problems == ["it failed: non-zero exit"] and "not reached" not in exit_code.stdout
    assert http_error.problems == ["it failed: non-zero exit"] and "invalid_api_key" in http_error.stdout
    assert "curl: (22)" in http_error.stderr
    assert (
        exception.problems == ["it failed: an exception"] and "ValueError: broken example" in exception.stderr
    )
    assert marked.ok, marked.report()
    assert marked_but_passing.problems == ["it succeeded, but is marked `fails`"]
    assert (
        "it failed: non-zero exit" in exit_code.report() and "--- the block ---\nfalse" in exit_code.report()
    )


def test_output_that_differs_from_the_page_fails(tmp_path: Path, doc_servers: Servers) -> None:
    block, console = run_page(
        tmp_path, doc_servers,
        "<!-- example: env: GREETING=hello -->", f"{F}sh", "echo \"$GREETING world\"", F,
        "<!-- example: output -->", f"{F}text", "hello … moon", F,
        f"{F}console", "$ echo one", "two", F,
    )  # fmt: skip
    assert block.stdout == "hello world\n"
    assert block.problems == ["its output differs from the output shown at docs/sample.md:6:\nhello … moon\n"]
    assert console.problems == ["its output differs from the output shown at docs/sample.md:9:\ntwo"]


def test_a_block_past_its_time_limit_fails_and_what_it_started_is_stopped(
    tmp_path: Path, doc_servers: Servers
) -> None:
    shell, python, after = run_page(
        tmp_path, doc_servers,
        "<!-- example: timeout: 1 -->", f"{F}bash", "sleep 60 & echo $! > sleeper.pid", "wait", F,
        "<!-- example: timeout: 1 -->", f"{F}python", "import time", "x = 1", "time.sleep(60)", F,
        "<!-- example: continue -->", f"{F}python", "print(x)", F,  # its session is gone
    )  # fmt: skip
    assert shell.problems == python.problems == ["timed out after 1 s (or its Python session died)"]
    assert 1 <= shell.seconds < 10 and 1 <= python.seconds < 10
    pid = int((tmp_path / "page" / "work" / "sleeper.pid").read_text())
    deadline = time.monotonic() + 10
    while _alive(pid):
        assert time.monotonic() < deadline, "the block's background process still runs"
        time.sleep(0.05)
    assert "NameError" in after.stderr


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_cli_in_a_block_uses_the_servers_configuration_and_data(
    tmp_path: Path, doc_servers: Servers
) -> None:
    (keys,) = run_page(
        tmp_path, doc_servers,
        f"{F}bash", "jurist keys create --tenant docs-test --name ci > key.txt",
        "curl -s http://127.0.0.1:8000/v1/models -H \"Authorization: Bearer $(cat key.txt)\" | python -c 'import json, sys; print(json.load(sys.stdin)[\"data\"][0][\"id\"])'", F,
        "<!-- example: output -->", f"{F}text", "pai-judge", F,
    )  # fmt: skip
    assert keys.ok, keys.report()


def test_an_embedded_block_runs_against_the_bundled_model(tmp_path: Path, doc_servers: Servers) -> None:
    (block,) = run_page(
        tmp_path, doc_servers,
        "<!-- example: embedded -->", f"{F}bash",
        "curl -s $OPENAI_BASE_URL/models/pai-judge -H \"Authorization: Bearer $KEY\" | python -c 'import json, sys; print(json.load(sys.stdin)[\"description\"])'", F,
        "<!-- example: output -->", f"{F}text", "pai-judge on the bundled Gemma 3 270M base model…", F,
    )  # fmt: skip
    assert block.ok, block.report()
