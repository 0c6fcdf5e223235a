"""The real embedded model (Gemma 3 270M base on llama.cpp) answers end to end. Slow: kept few."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jurist.backends.base import GenerationRequest
from jurist.backends.llama_cpp import LlamaCppBackend, bundled_model_path
from jurist.judging.prompts import build_task
from jurist.protocol.items import PairwiseItem
from jurist.settings import LlamaCppModelConfig
from tests.support.live import LiveServer, live_server
from tests.support.openapi import validate
from tests.support.services import API_KEY
from tests.support.verdicts import SEED_PAIR_SCORES, SEED_PAIR_WINNER

pytestmark = pytest.mark.embedded

NEAR_TIE = 0.25  # log-probability: a choice that kernels summing differently on another CPU may flip
QUESTION = "According to the first couplet, give the second couplet. first couplet: To climb the mountain, reach the peak"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedded")


@pytest.fixture(scope="module")
def embedded(data_dir: Path) -> Iterator[LiveServer]:
    with live_server(data_dir) as srv:  # no models configured: both PAI names on the embedded model
        yield srv


def judge_item(mode: str, **fields: Any) -> list[Any]:
    return [{"role": "user", "content": [{"mode": mode, "type": "json", "json": fields}]}]


def test_single_judgment_on_the_embedded_model(embedded: LiveServer) -> None:
    client = embedded.sdk(f"Authorization: Bearer {API_KEY}")
    messages = judge_item(
        "single",
        question=QUESTION,
        answer="To cross the river, find the creek.",
        criteria=["Accuracy", "Relevance"],
    )
    raw = client.chat.completions.with_raw_response.create(model="pai-judge", messages=messages)
    validate("CreateChatCompletionResponse", raw.http_response.json())
    completion = raw.parse()
    judgment: dict[str, Any] = completion.judgment  # type: ignore[attr-defined]
    assert judgment["scored"] is True and judgment["parsed_by"] == "json"  # grammar-constrained
    assert 1 <= judgment["overall_score"] <= 5
    assert [c["name"] for c in judgment["criteria"]] == ["Accuracy", "Relevance"]
    content = completion.choices[0].message.content or ""
    assert content.startswith(
        f"I think the overall score for this response is [[{judgment['overall_score']}]]."
    )
    assert completion.usage is not None and completion.usage.prompt_tokens > 100


def test_pairwise_judgment_on_the_embedded_model(embedded: LiveServer) -> None:
    client = embedded.sdk()
    messages = judge_item(
        "pairwise",
        question=QUESTION,
        answer1="To cross the river, find the creek.",
        answer2="To chase the dream, grasp the star.",
        criteria=["Accuracy"],
        samples=2,  # pai-judge-plus swaps and samples (3 by default; 2 keeps the test short)
    )
    completion = client.chat.completions.create(model="pai-judge-plus", messages=messages)
    judgment: dict[str, Any] = completion.judgment  # type: ignore[attr-defined]
    assert judgment["scored"] is True and judgment["winner"] in ("response_1", "response_2", "tie")
    assert (completion.choices[0].message.content or "").startswith("***\nI think [[")
    assert judgment["ensemble"]["total_games"] == 4 and len(judgment["swap"]["games"]) == 4
    assert sum(judgment["ensemble"]["votes"].values()) == judgment["ensemble"]["scored_games"]
    expected = judgment["expected_score"]  # from the embedded model's own token probabilities
    assert all(1.0 <= expected[k] <= 5.0 for k in ("response_1", "response_2"))
    assert all("expected_score" in g for g in judgment["swap"]["games"] if g["scored"])


def test_scores_only_verdict_on_the_embedded_model(embedded: LiveServer) -> None:
    """``reasons: "none"``: the grammar forces a verdict without reason strings, and its text still reads
    as PAI's (the seed's ``[[…]]`` patterns)."""
    messages = judge_item(
        "pairwise", question="What is 7+5?", answer1="12", answer2="75", criteria=["Accuracy"], reasons="none"
    )
    completion = embedded.sdk().chat.completions.create(model="pai-judge", messages=messages)
    judgment: dict[str, Any] = completion.judgment  # type: ignore[attr-defined]
    assert judgment["scored"] is True and judgment["parsed_by"] == "json"
    assert judgment["summary"] is None and judgment["criteria"][0]["reason"] == ""
    content = completion.choices[0].message.content or ""
    winner = SEED_PAIR_WINNER.search(content)
    scores = SEED_PAIR_SCORES.search(content)
    assert winner is not None and scores is not None
    assert (int(scores.group(1)), int(scores.group(2))) == (
        judgment["scores"]["response_1"],
        judgment["scores"]["response_2"],
    )
    assert "\n1. Accuracy: [[Response 1 score: " in content  # the score line, no reason before it
    expected = judgment["expected_score"]  # the score tokens are found without reasons around them
    assert all(1.0 <= expected[k] <= 5.0 for k in ("response_1", "response_2"))


def test_custom_template_streams_real_tokens(embedded: LiveServer) -> None:
    client = embedded.sdk()
    stream = client.chat.completions.create(
        model="pai-judge",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}],
        max_tokens=8,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) >= 2  # token by token, not one blob
    assert chunks[-1].usage is not None and 1 <= chunks[-1].usage.completion_tokens <= 8


async def test_grammar_output_always_matches_the_verdict_schema(data_dir: Path) -> None:
    import json

    from jsonschema import Draft202012Validator

    backend = LlamaCppBackend(LlamaCppModelConfig(), bundled_model_path(data_dir))
    task = build_task(
        PairwiseItem(question="What is 7+5?", answer1="75", answer2="12", criteria=["Accuracy"]), 60
    )
    try:
        result = await backend.generate(
            GenerationRequest(messages=task.messages, json_schema=task.schema, temperature=0.0)
        )
    finally:
        await backend.aclose()
    Draft202012Validator(task.schema).validate(json.loads(result.text))
    assert result.prompt_tokens > 0 and result.completion_tokens > 0


async def test_fast_grammar_decoder_matches_llama_cpp_python_greedy(data_dir: Path) -> None:
    """The sequential top-choice-first decoder (parallel = 1) chooses the tokens of the stock grammar
    sampler. The two evaluate the prompt in different batches, so llama.cpp's kernels sum differently (by
    CPU: ~0.05 in a log-probability here, on an AVX2 EPYC): where their texts part, it is at a near-tie
    of the decoder's own choice (the chosen token and the runner-up within ``NEAR_TIE``)."""
    import json

    from jsonschema import Draft202012Validator

    from jurist.protocol.items import SingleItem

    backend = LlamaCppBackend(LlamaCppModelConfig(parallel=1), bundled_model_path(data_dir))
    task = build_task(SingleItem(question="What is 7+5?", answer="75", criteria=["Accuracy"]), 40)
    request = GenerationRequest(
        messages=task.messages, json_schema=task.schema, temperature=0.0, max_tokens=200,
        logprobs=True, top_logprobs=2,
    )  # fmt: skip
    try:
        fast = await backend.generate(request)
        await backend.start()
        plain = dataclasses.replace(request, logprobs=None, top_logprobs=None)
        stock = backend._run(backend._kwargs(plain))  # llama-cpp-python's own grammar path
    finally:
        await backend.aclose()
    assert backend._fast_json_path(request)
    stock_text = stock["choices"][0]["message"]["content"]
    for text in (fast.text, stock_text):
        Draft202012Validator(task.schema).validate(json.loads(text))
    if fast.text == stock_text:
        assert fast.completion_tokens == stock["usage"]["completion_tokens"]
        return
    assert fast.logprobs is not None
    parted = next(i for i, (a, b) in enumerate(zip(fast.text, stock_text, strict=False)) if a != b)
    tokens = fast.logprobs["content"]
    ends = list(itertools.accumulate(len(t["token"]) for t in tokens))
    index = next(i for i, end in enumerate(ends) if end > parted)  # holds the first differing character
    gaps = [  # the choice at that token and the one before it (a longer token may have been the other's)
        t["top_logprobs"][0]["logprob"] - t["top_logprobs"][1]["logprob"]
        for t in tokens[max(0, index - 1) : index + 1]
        if len(t["top_logprobs"]) == 2
    ]
    assert min(gaps) < NEAR_TIE, (fast.text, stock_text, gaps)


async def test_sampled_verdicts_are_seeded_and_carry_logprobs(data_dir: Path) -> None:
    from jurist.judging.expected import expected_scores
    from jurist.protocol.items import SingleItem

    # the sequential decoder: bit-identical per seed
    backend = LlamaCppBackend(LlamaCppModelConfig(parallel=1), bundled_model_path(data_dir))
    task = build_task(SingleItem(question="What is 7+5?", answer="12", criteria=["Accuracy"]), 40)
    request = GenerationRequest(
        messages=task.messages, json_schema=task.schema, temperature=0.9, seed=7, max_tokens=200,
        logprobs=True, top_logprobs=8,
    )  # fmt: skip
    try:
        first = await backend.generate(request)
        again = await backend.generate(request)
    finally:
        await backend.aclose()
    assert first.text == again.text  # same seed, same sample
    assert first.logprobs is not None
    tokens = first.logprobs["content"]
    assert "".join(t["token"] for t in tokens) == first.text
    assert all(t["logprob"] <= 0.0 and len(t["top_logprobs"]) == 8 for t in tokens)
    scores = expected_scores(first.text, first.logprobs, "single", task.scale)
    assert scores is not None and 1.0 <= scores["overall_score"] <= 5.0
