"""The ``openai`` backend against a real OpenAI-compatible server: llama-cpp-python's
(``python -m llama_cpp.server``) serving the bundled GGUF, started and configured exactly as
docs/operations/serving-a-judge.md documents it (only the address, the model file, the threads, the chat
format and ``max_tokens`` changed), behind a real ``jurist serve`` driven with the official SDK: judge and
custom-template requests, a batch, an eval run. The bundled model is a base model and cannot judge, so
the tests check the path (every call reaches the server, completions and usage come back, every line and
row gets its result), not the verdicts."""

from __future__ import annotations

import json
import os
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from openai import OpenAI

from jurist.backends.llama_cpp import bundled_model_path
from jurist.backends.registry import configured_models
from jurist.settings import OpenAIModelConfig, load_settings
from tests.support.http import request
from tests.support.llama_server import LlamaCppServer, documented_recipe, free_port, toml_blocks
from tests.support.nodes import client_on_a_free_port, process, wait_http
from tests.support.services import API_KEY

MAX_TOKENS = 8  # each judge call's completion budget: decoding under a grammar is most of a call's time
# one criterion and no reasons: a short judge prompt (its prefill is most of a call's time on 2 cores)
SHORT = {"criteria": ["Accuracy"], "reasons": "none"}
# a system turn: with it the base model writes something at temperature 0 (custom templates, samples)
POET = {"role": "system", "content": "You are a poet."}


def judge(mode: str = "single", **item: str) -> list[dict[str, Any]]:
    """PAI's judge item as the seed sends it (a ``json`` content part)."""
    item = item or {"question": "What is the capital of France?", "answer": "Paris."}
    return [{"role": "user", "content": [{"mode": mode, "type": "json", "json": {**item, **SHORT}}]}]


def custom(text: str) -> list[dict[str, str]]:
    """A custom template: plain messages go to the model as they are."""
    return [POET, {"role": "user", "content": text}]


@dataclass
class Stack:
    llama: LlamaCppServer
    client: OpenAI
    model: str  # the upstream's model name, as the documented TOML names it


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The documented llama_cpp.server on the bundled GGUF, and ``jurist serve`` on the documented TOML."""
    tmp = tmp_path_factory.mktemp("real-openai-server")
    recipe = documented_recipe()
    gguf = bundled_model_path(tmp / "data")
    port = free_port()
    # one thread each: the two cores are shared, and llama.cpp's spinning threads suffer most from that
    args = recipe.with_args(model=str(gguf), host="127.0.0.1", port=str(port), n_ctx="4096", n_threads="1")
    args += ["--n_threads_batch", "1", "--chat_format", "gemma"]  # the bundled GGUF carries no chat template
    config = tmp / "jurist.toml"
    model = str(OpenAIModelConfig.model_validate(_tables(recipe.toml)["pai-judge"]).model)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JURIST_")}
    env.update(JURIST_CONFIG=str(config), JURIST_DATA_DIR=str(tmp / "data"), JURIST_API_KEYS=API_KEY,
               JURIST_WORKER_POLL_SECONDS="0.05", JURIST_LOG_LEVEL="warning")  # fmt: skip
    with (
        LlamaCppServer(args, port, tmp / "llama_server.log") as llama,
        client_on_a_free_port() as (port, client),
    ):
        config.write_text(recipe.toml_with(
            ('base_url = "http://127.0.0.1:8080/v1"', f'base_url = "{llama.base_url}"'),
            ("max_tokens = 512", f"max_tokens = {MAX_TOKENS}"),
        ))  # fmt: skip
        with (
            (tmp / "jurist.log").open("wb") as log,
            process(["serve", "--port", str(port)], env, log) as jurist,
        ):
            wait_http(port)
            yield Stack(llama, client.with_options(max_retries=0, timeout=120), model)
            assert jurist.poll() is None, (tmp / "jurist.log").read_text()
        assert llama.alive(), llama.tail()  # the server survived everything it was sent


def _tables(toml: str) -> dict[str, Any]:
    models: dict[str, Any] = tomllib.loads(toml)["models"]
    return models


def test_every_documented_config_loads_through_the_settings(tmp_path: Path) -> None:
    blocks = toml_blocks()
    assert len(blocks) >= 5  # one per recipe
    for i, block in enumerate(blocks):
        path = tmp_path / f"recipe{i}.toml"
        path.write_text(block)
        models = configured_models(load_settings(config=path, data_dir=tmp_path)).models
        assert all(isinstance(models[name], OpenAIModelConfig) for name in _tables(block)), block


def test_jurist_is_ready_on_the_real_server(stack: Stack) -> None:
    assert stack.llama.models() == [stack.model]  # served under the name the TOML sends
    ready = request("GET", str(stack.client.base_url).removesuffix("/v1/") + "/readyz")
    assert ready.status == 200, ready.body  # /readyz asked the upstream's /models
    listed = [m.id for m in stack.client.models.list()]
    assert "pai-judge" in listed


def test_a_judge_request_goes_through_the_real_server_and_is_counted(stack: Stack) -> None:
    # a tenant of its own (X-On-Behalf-Of), so its usage holds this request only
    client = stack.client.with_options(default_headers={"X-On-Behalf-Of": "judge-check"})
    before = stack.llama.chat_requests()
    completion = client.chat.completions.create(model="pai-judge", messages=judge())  # type: ignore[arg-type]
    judgment: dict[str, Any] = completion.judgment  # type: ignore[attr-defined]
    assert judgment["mode"] == "single" and judgment["scored"] is (judgment["parsed_by"] != "unscored")
    assert judgment["scored"] is False or [c["name"] for c in judgment["criteria"]] == ["Accuracy"]
    calls = stack.llama.chat_requests() - before
    assert calls == judgment["attempts"] >= 1  # the first ask, and a re-ask when unreadable: all answered
    assert completion.model == "pai-judge"  # the upstream's own name is not leaked
    assert completion.choices[0].message.content  # PAI's text, or the unscored notice
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 50 * calls  # the judge prompt, as the server counted
    assert 0 < usage.completion_tokens <= MAX_TOKENS * calls
    (row,) = client.get("/usage?group_by=model", cast_to=object)["data"]  # type: ignore[index]
    counted = (row["model"], row["requests"], row["judge_calls"], row["cache_hits"])
    assert counted == ("pai-judge", 1, calls, 0)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (usage.prompt_tokens, usage.completion_tokens)


def test_a_custom_template_returns_the_real_models_text(stack: Stack) -> None:
    before = stack.llama.chat_requests()
    messages = custom("Write one sentence about the sea.")
    first = stack.client.chat.completions.create(model="pai-judge", messages=messages, max_tokens=8)  # type: ignore[arg-type]
    assert stack.llama.chat_requests() == before + 1
    text = first.choices[0].message.content
    assert text and first.choices[0].finish_reason in ("stop", "length")
    assert first.usage is not None and 0 < first.usage.completion_tokens <= 8
    # temperature 0 (the judging policy's default): the judge cache answers the same request again
    again = stack.client.chat.completions.create(model="pai-judge", messages=messages, max_tokens=8)  # type: ignore[arg-type]
    assert again.choices[0].message.content == text
    assert stack.llama.chat_requests() == before + 1


def test_a_batch_completes_with_an_output_line_per_input_line(stack: Stack, tmp_path: Path) -> None:
    bodies = [
        {"model": "pai-judge", "messages": judge(question="2+2?", answer="5")},
        {"model": "pai-judge", "messages": judge("pairwise", question="2+2?", answer1="4", answer2="5")},
        {"model": "pai-judge", "messages": custom("Name a colour."), "max_tokens": 6},
    ]
    path = tmp_path / "input.jsonl"
    path.write_text(
        "".join(json.dumps({"custom_id": f"c{i}", "body": b}) + "\n" for i, b in enumerate(bodies))
    )
    before = stack.llama.chat_requests()
    with path.open("rb") as fh:
        file_id = stack.client.files.create(file=fh, purpose="batch").id
    batch = stack.client.batches.create(
        endpoint="/v1/chat/completions", input_file_id=file_id, completion_window="24h"
    )
    deadline = time.monotonic() + 180
    while (batch := stack.client.batches.retrieve(batch.id)).status not in ("completed", "failed"):
        assert time.monotonic() < deadline, batch.status
        time.sleep(0.2)
    assert batch.status == "completed" and batch.error_file_id is None, batch.errors
    counts = batch.request_counts
    assert counts is not None and (counts.total, counts.completed, counts.failed) == (3, 3, 0)
    assert batch.output_file_id is not None
    lines = [orjson.loads(x) for x in stack.client.files.content(batch.output_file_id).text.splitlines()]
    assert [line["custom_id"] for line in lines] == ["c0", "c1", "c2"]  # in input order
    assert all(line["response"]["status_code"] == 200 and line["error"] is None for line in lines)
    out = [line["response"]["body"] for line in lines]
    assert [b["judgment"]["mode"] for b in out[:2]] == ["single", "pairwise"]
    assert out[2]["judgment"] is None and out[2]["choices"][0]["message"]["content"]
    assert all(b["usage"]["prompt_tokens"] > 0 and b["usage"]["completion_tokens"] > 0 for b in out)
    calls = sum(b["judgment"]["attempts"] for b in out[:2]) + 1
    assert stack.llama.chat_requests() - before == calls  # every call of every line reached the server


def test_an_eval_run_samples_and_grades_every_row_on_the_real_server(stack: Stack) -> None:
    # a jurist_judge criterion, and a score_model one: its json_schema response_format is sent to this
    # server as json_object (structured_output), which it takes (a schema it answers with a 500)
    made = stack.client.evals.create(
        name="real server",
        data_source_config={"type": "custom", "item_schema": {"type": "object", "properties": {
            "question": {"type": "string"}}, "required": ["question"]}, "include_sample_schema": True},
        testing_criteria=[{"type": "jurist_judge", "name": "judge", "model": "pai-judge", "mode": "single",  # type: ignore[list-item]
                           "question": "{{item.question}}", "answer": "{{sample.output_text}}",
                           "criteria": SHORT["criteria"]},
                          {"type": "score_model", "name": "score", "model": "pai-judge", "range": [0, 1],
                           "input": [{"role": "user", "content": "Rate: {{sample.output_text}}"}]}],
    )  # fmt: skip
    questions = ["Capital of France?", "Largest planet?", "Boiling point of water?"]
    before = stack.llama.chat_requests()
    run = stack.client.evals.runs.create(made.id, data_source={
        "type": "completions", "model": "pai-judge",
        "input_messages": {"type": "template", "template": [POET, {"role": "user", "content": "Answer: {{item.question}}"}]},
        "sampling_params": {"temperature": 0, "max_completion_tokens": 8},
        "source": {"type": "file_content", "content": [{"item": {"question": q}} for q in questions]},
    })  # type: ignore[misc, arg-type]  # fmt: skip
    deadline = time.monotonic() + 240
    while (done := stack.client.evals.runs.retrieve(run.id, eval_id=made.id)).status not in (
        "completed", "failed", "canceled"
    ):  # fmt: skip
        assert time.monotonic() < deadline, done.status
        time.sleep(0.2)
    assert done.status == "completed"
    counts = done.result_counts
    assert counts.total == 3 and counts.passed + counts.failed + counts.errored == 3
    items = list(stack.client.evals.runs.output_items.list(run.id, eval_id=made.id))
    assert [i.datasource_item_id for i in items] == [0, 1, 2]  # an output item per row
    for item, question in zip(items, questions, strict=True):
        assert item.sample.input[-1].content == f"Answer: {question}"
        assert item.sample.output[0].content  # the real model's answer
        assert item.sample.usage is not None and item.sample.usage.prompt_tokens > 0
        results: list[dict[str, Any]] = item.to_dict()["results"]  # type: ignore[assignment]  # with "error"
        result, scored = results
        assert result["name"] == "judge" and scored["name"] == "score"
        assert scored.get("error") is None and 0 <= scored["score"] <= 1, scored  # the server answered
        if result["sample"] is None:  # the base model's usual outcome: no verdict even after the re-ask
            assert item.status == "error" and result["error"].startswith("model_grader_parse_error"), result
        else:
            assert result["sample"]["judgment"]["mode"] == "single", result
    usage = {u.model_name: u for u in done.per_model_usage or []}  # type: ignore[attr-defined]
    assert set(usage) == {"pai-judge"}
    calls = stack.llama.chat_requests() - before
    assert 3 * 3 <= calls <= 4 * 3  # a sample, a score and a judgment (two with the re-ask) per row
    assert usage["pai-judge"].invocation_count == calls  # every call counted, re-asks included
    assert usage["pai-judge"].prompt_tokens > 0 and usage["pai-judge"].completion_tokens > 0
