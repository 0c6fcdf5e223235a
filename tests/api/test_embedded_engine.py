"""The batching engine (``parallel`` > 1) on the real bundled model: verdicts decoded together in one
llama.cpp context equal the sequential decoder's, slots free on cancellation, and an over-long prompt is
a 400 while the other sequences finish. Slow (the real model): kept to a few short items."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from jurist.backends.base import GenerationRequest
from jurist.backends.llama_cpp import LlamaCppBackend, bundled_model_path
from jurist.errors import BackendRejected, ConfigError
from jurist.judging.prompts import build_task
from jurist.protocol.items import PairwiseItem
from jurist.settings import LlamaCppModelConfig
from jurist.settings.models import default_parallel
from tests.support.http import request
from tests.support.live import LiveServer, live_server
from tests.support.services import METRICS_AUTH

pytestmark = pytest.mark.embedded

ITEMS = [("What is 7+5?", "12", "75"), ("Capital of France?", "Lyon", "Paris"), ("What is 2*3?", "6", "5")]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundled_model_path(tmp_path_factory.mktemp("engine"))


def verdict_requests() -> list[tuple[GenerationRequest, Any]]:
    out = []
    for question, first, second in ITEMS:
        task = build_task(
            PairwiseItem(question=question, answer1=first, answer2=second, criteria=["Accuracy"]), 60
        )
        request = GenerationRequest(
            messages=task.messages, json_schema=task.schema, temperature=0.0, max_tokens=300
        )
        out.append((request, task.schema))
    return out


def scores(text: str) -> Any:
    """A verdict without its prose: what the batched arithmetic must not change."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("reason", "summary")}
        return value

    return strip(json.loads(text))


def chat(text: str, max_tokens: int) -> GenerationRequest:
    return GenerationRequest(
        messages=[{"role": "user", "content": text}], max_tokens=max_tokens, temperature=0.0
    )


async def test_batched_verdicts_equal_the_sequential_decoders(model_path: Path) -> None:
    requests = verdict_requests()
    sequential = LlamaCppBackend(LlamaCppModelConfig(), model_path)
    try:
        expected = [await sequential.generate(r) for r, _ in requests]
    finally:
        await sequential.aclose()
    batched = LlamaCppBackend(LlamaCppModelConfig(parallel=2, n_ctx=2048), model_path)
    try:  # three requests on two slots: the third joins when a slot frees
        got = await asyncio.gather(*(batched.generate(r) for r, _ in requests))
    finally:
        await batched.aclose()
    for (_, schema), one, many in zip(requests, expected, got, strict=True):
        Draft202012Validator(schema).validate(json.loads(many.text))
        assert many.prompt_tokens == one.prompt_tokens and many.finish_reason == "stop"
    # the same verdicts (spacing and prose may differ; batched arithmetic may flip a near-tie score)
    same = [scores(many.text) == scores(one.text) for one, many in zip(expected, got, strict=True)]
    assert sum(same) >= 2, same


async def test_batched_logprobs_have_the_decoders_shape(model_path: Path) -> None:
    request, _ = verdict_requests()[0]
    asked = dataclasses.replace(request, logprobs=True, top_logprobs=3)
    backend = LlamaCppBackend(LlamaCppModelConfig(parallel=2, n_ctx=2048), model_path)
    try:
        result = await backend.generate(asked)
    finally:
        await backend.aclose()
    assert result.logprobs is not None
    tokens = result.logprobs["content"]
    assert "".join(t["token"] for t in tokens) == result.text
    chosen = [t for t in tokens if t["top_logprobs"]]
    forced = [t for t in tokens if not t["top_logprobs"]]  # the grammar's own: fed without logits
    assert chosen and all(t["logprob"] <= 0.0 and len(t["top_logprobs"]) == 3 for t in chosen)
    assert forced and all(t["logprob"] == 0.0 for t in forced)
    assert any(t["token"] in "12345" and t in chosen for t in tokens)  # scores are the model's choices


async def test_cancelled_and_timed_out_requests_free_their_slots(model_path: Path) -> None:
    backend = LlamaCppBackend(LlamaCppModelConfig(parallel=2, n_ctx=1024), model_path)
    await backend.start()
    engine = backend._engine
    try:
        story = chat("Write a very long story about a lighthouse keeper.", 900)
        running = asyncio.ensure_future(backend.generate(story))
        with pytest.raises(TimeoutError):  # a timeout cancels the awaiting coroutine
            await asyncio.wait_for(backend.generate(story), 1.0)
        assert engine.busy == 2
        running.cancel()
        for _ in range(100):
            if engine.busy == 0:
                break
            await asyncio.sleep(0.05)
        assert engine.busy == 0
        after = await asyncio.wait_for(backend.generate(chat("Say hello.", 6)), 60)
        assert 1 <= after.completion_tokens <= 6
    finally:
        await backend.aclose()


async def test_a_prompt_longer_than_a_slot_is_rejected_while_others_finish(model_path: Path) -> None:
    backend = LlamaCppBackend(LlamaCppModelConfig(parallel=2, n_ctx=256), model_path)
    long_prompt = chat("Repeat after me: " + "the lighthouse keeper walked home. " * 60, 8)
    try:
        short, rejected = await asyncio.gather(
            backend.generate(chat("Say hello.", 12)), backend.generate(long_prompt), return_exceptions=True
        )
    finally:
        await backend.aclose()
    assert not isinstance(short, BaseException) and 1 <= short.completion_tokens <= 12
    assert isinstance(rejected, BackendRejected)
    assert rejected.status_code == 400 and rejected.code == "context_length_exceeded"
    assert "256" in rejected.message


@pytest.fixture(scope="module")
def small_slots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    models = {"judge": {"backend": "llama_cpp", "parallel": 2, "n_ctx": 512}}
    with live_server(tmp_path_factory.mktemp("slots"), models=models) as srv:
        yield srv


def test_an_over_long_judge_item_is_a_400_over_http(small_slots: LiveServer) -> None:
    client = small_slots.sdk()
    long = [{"role": "user", "content": [{"mode": "single", "type": "json", "json": {
        "question": "Summarise.", "answer": "the lighthouse keeper walked home. " * 80, "criteria": ["Accuracy"],
    }}]}]  # fmt: skip
    hello = [{"role": "user", "content": "Say hello."}]
    with ThreadPoolExecutor(2) as pool:
        ok = pool.submit(client.chat.completions.create, model="judge", messages=hello, max_tokens=6)
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(model="judge", messages=long)  # type: ignore[arg-type]
        assert ok.result().choices[0].message.content is not None
    assert caught.value.code == "context_length_exceeded"


@pytest.fixture(scope="module")
def engine_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    models = {"judge": {"backend": "llama_cpp", "parallel": 2, "n_ctx": 1024}}
    with live_server(tmp_path_factory.mktemp("prefix"), models=models) as srv:
        yield srv


def _prompt_tokens(srv: LiveServer) -> dict[str, float]:
    text = request("GET", srv.base_url.removesuffix("/v1") + "/metrics", headers=METRICS_AUTH).body.decode()
    found = re.findall(
        r'^jurist_engine_prompt_tokens_total\{backend="[^"]+",kind="(\w+)"\} (\S+)$', text, re.M
    )
    return {kind: float(value) for kind, value in found}


def test_items_sharing_instructions_evaluate_them_once(engine_server: LiveServer) -> None:
    """The second item of the same criteria marks where the prompts part, the third copies that prefix
    from the KV cache; /metrics counts prompt tokens evaluated and reused."""
    client = engine_server.sdk()
    before = _prompt_tokens(engine_server)
    prompts = 0
    for question, answer in (("What is 7+5?", "12"), ("Capital of Peru?", "Lima"), ("Is ice cold?", "Yes")):
        item = {"question": question, "answer": answer, "criteria": ["Accuracy"], "reasons": "none"}
        body = [{"role": "user", "content": [{"mode": "single", "type": "json", "json": item}]}]
        done = client.chat.completions.create(model="judge", messages=body)  # type: ignore[arg-type]
        assert done.usage is not None and done.choices[0].message.content
        prompts += done.usage.prompt_tokens
    after = _prompt_tokens(engine_server)
    evaluated = after["evaluated"] - before.get("evaluated", 0)
    reused = after["reused"] - before.get("reused", 0)
    assert evaluated + reused == prompts  # usage stays the request's tokens; the saving is in /metrics
    assert reused >= 200 and evaluated < prompts - 200


async def test_an_ensembles_samples_evaluate_their_prompt_once(model_path: Path) -> None:
    """Three samples of one prompt submitted together: the first evaluates it and keeps all but its last
    token, the other two wait a step for that prefix and evaluate only their last token."""
    request, schema = verdict_requests()[0]
    samples = [dataclasses.replace(request, temperature=0.7, seed=s) for s in range(3)]
    backend = LlamaCppBackend(LlamaCppModelConfig(parallel=4, n_ctx=1024), model_path)
    try:
        await backend.start()
        before = backend.prompt_stats()
        done = await asyncio.gather(*(backend.generate(r) for r in samples))
        after = backend.prompt_stats()
    finally:
        await backend.aclose()
    n = done[0].prompt_tokens
    for result in done:
        Draft202012Validator(schema).validate(json.loads(result.text))
    assert after["evaluated"] - before["evaluated"] == n + 2
    assert after["reused"] - before["reused"] == 2 * (n - 1)


async def test_the_kv_cache_must_fit_the_models_context(model_path: Path) -> None:
    backend = LlamaCppBackend(LlamaCppModelConfig(parallel=4, n_ctx=16384), model_path)
    with pytest.raises(ConfigError) as caught:
        await backend.start()
    await backend.aclose()
    assert "n_ctx (16384)" in caught.value.message and "parallel (4)" in caught.value.message


def test_parallel_sets_the_concurrency() -> None:
    assert LlamaCppModelConfig().concurrency == default_parallel() == min(8, 4 * (os.cpu_count() or 1))
    assert LlamaCppModelConfig(parallel=1).concurrency == 1
    assert LlamaCppModelConfig(parallel=4).concurrency == 4
    assert LlamaCppModelConfig(parallel=4, max_concurrency=2).concurrency == 2
    with pytest.raises(ValidationError, match="parallel"):
        LlamaCppModelConfig(parallel=0)


@pytest.mark.parametrize("chat_format", ["chatml", None, "no-such-format"])
async def test_the_engine_serves_other_chat_formats(model_path: Path, chat_format: str | None) -> None:
    """A named llama-cpp-python format, or what the GGUF carries (no chat_format, a model_path)."""
    config = LlamaCppModelConfig(parallel=2, n_ctx=1024, model_path=model_path, chat_format=chat_format)
    backend = LlamaCppBackend(config, model_path)
    try:
        if chat_format == "no-such-format":
            with pytest.raises(ConfigError, match="no-such-format"):
                await backend.start()
            return
        request, schema = verdict_requests()[0]
        result = await backend.generate(request)
        Draft202012Validator(schema).validate(json.loads(result.text))
        rendered = backend.render_prompt(request.messages)
    finally:
        await backend.aclose()
    if chat_format == "chatml":
        assert rendered.startswith("<|im_start|>system\n") and rendered.endswith("<|im_start|>assistant\n")
    else:  # the bundled GGUF carries no template: Llama 2's format, as llama-cpp-python's Llama
        assert rendered.endswith("[/INST]")


async def test_the_engine_streams_tokens_and_honours_stop_strings(model_path: Path) -> None:
    backend = LlamaCppBackend(LlamaCppModelConfig(parallel=2, n_ctx=1024), model_path)
    request = chat("Count from one to ten in words.", 16)
    try:
        whole = await backend.generate(request)
        chunks = [c async for c in backend.stream(request)]
        stop = whole.text[len(whole.text) // 2 :][:3]
        cut = await backend.generate(dataclasses.replace(request, stop=[stop]))
    finally:
        await backend.aclose()
    pieces = [c.text for c in chunks if c.text]
    assert len(pieces) >= 2 and "".join(pieces) == whole.text  # token by token, not one blob
    assert chunks[-1].completion_tokens == whole.completion_tokens
    assert cut.text == whole.text[: whole.text.index(stop)] and cut.finish_reason == "stop"
