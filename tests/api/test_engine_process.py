"""The embedded model in its own process, killed by real signals: a SIGSEGV, SIGKILL or SIGABRT (what
``abort()`` raises, as llama.cpp's ``GGML_ASSERT`` does) mid-request fails that request with a 503
``model_unavailable`` and the model comes back; three deaths within a minute mark it failed. The start-up
self-test retries with the extra buffer types off when the process dies; forced off, both decoders judge."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from jurist.backends.base import GenerationRequest
from jurist.backends.llama_cpp import LlamaCppBackend, bundled_model_path
from jurist.backends.llama_process import EmbeddedModelProcess
from jurist.errors import ModelUnavailable
from jurist.judging.prompts import build_task
from jurist.protocol.items import PairwiseItem
from jurist.settings import LlamaCppModelConfig

pytestmark = pytest.mark.embedded

LONG = "Write a long story about a lighthouse keeper. " * 60  # prefill alone takes a while


def short() -> GenerationRequest:
    return GenerationRequest(messages=[{"role": "user", "content": "Say OK."}], max_tokens=4)


def long_request() -> GenerationRequest:
    return GenerationRequest(messages=[{"role": "user", "content": LONG}], max_tokens=256)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundled_model_path(tmp_path_factory.mktemp("engine-process"))


def process(model_path: Path, **options: object) -> EmbeddedModelProcess:
    config = LlamaCppModelConfig.model_validate({"parallel": 2, "n_ctx": 1024, **options})
    return EmbeddedModelProcess(config, model_path)


async def killed_mid_request(model: EmbeddedModelProcess, signum: int) -> ModelUnavailable:
    pid = model.health().pid
    assert pid is not None
    running = asyncio.create_task(model.generate(long_request()))
    # sent: the process holds it (no timing assumption about the CPU)
    while model.in_flight == 0:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    os.kill(pid, signum)
    with pytest.raises(ModelUnavailable) as caught:
        await asyncio.wait_for(running, 30)
    return caught.value


@pytest.mark.parametrize("signum", [signal.SIGSEGV, signal.SIGKILL, signal.SIGABRT])
async def test_a_request_in_a_process_that_dies_gets_a_503_and_the_next_is_answered(
    model_path: Path, signum: signal.Signals
) -> None:
    model = process(model_path)
    await model.start()
    try:
        first_pid = model.health().pid
        error = await killed_mid_request(model, signum)
        assert error.status_code == 503 and error.code == "model_unavailable" and error.restarting
        assert error.retry_after is not None and error.retry_after >= 1
        assert signum.name in error.message
        answered = await asyncio.wait_for(model.generate(short()), 120)  # waits for the restart
        assert answered.completion_tokens > 0
        health = model.health()
        assert health.state == "ready" and health.restarts == {signum.name: 1}
        assert health.pid not in (None, first_pid)
        assert health.last_restart_seconds is not None and health.last_restart_seconds > 0
        assert model.prompt_stats()["evaluated"] > 0
    finally:
        await model.aclose()
    assert model.health().state == "stopped"


async def test_a_stream_in_a_process_that_dies_ends_with_a_503(model_path: Path) -> None:
    model = process(model_path, parallel=1)  # the sequential decoder
    await model.start()
    try:
        pieces: list[str] = []
        with pytest.raises(ModelUnavailable):
            async for chunk in model.stream(long_request()):
                pieces.append(chunk.text)
                if len(pieces) == 2:
                    pid = model.health().pid
                    assert pid is not None
                    os.kill(pid, signal.SIGKILL)
        assert len(pieces) >= 2
        assert (await asyncio.wait_for(model.generate(short()), 120)).completion_tokens > 0
    finally:
        await model.aclose()


async def test_three_deaths_within_a_minute_mark_the_model_failed(model_path: Path) -> None:
    model = process(model_path)
    await model.start()
    try:
        for signum in (signal.SIGABRT, signal.SIGSEGV):
            await killed_mid_request(model, signum)
            await asyncio.wait_for(model.generate(short()), 120)  # restarted
        last = await killed_mid_request(model, signal.SIGKILL)
        assert last.restarting is False  # the third death: no restart coming
        health = model.health()
        assert health.state == "failed" and "3 times" in health.detail and "SIGKILL" in health.detail
        assert health.restarts == {"SIGABRT": 1, "SIGSEGV": 1, "SIGKILL": 1}
        with pytest.raises(ModelUnavailable) as failed:
            await model.generate(short())
        assert failed.value.restarting is False and "SIGKILL" in failed.value.message
        await asyncio.sleep(1.5)  # longer than any backoff: still down
        assert model.health().state == "failed" and model.health().pid is None
    finally:
        await model.aclose()


async def test_a_self_test_that_kills_the_process_is_retried_with_extra_buffer_types_off(
    model_path: Path, tmp_path: Path
) -> None:
    """The first model process segfaults at start (as the AMX kernel does); the second is started with
    the extra buffer types off and serves."""
    mark = tmp_path / "crashed-once"
    python = tmp_path / "python"
    python.write_text(
        "#!/bin/sh\n"
        f'if [ ! -e "{mark}" ]; then touch "{mark}"; '
        f'exec "{sys.executable}" -c "import ctypes; ctypes.string_at(0)"; fi\n'
        f'exec "{sys.executable}" "$@"\n'
    )
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    config = LlamaCppModelConfig(parallel=2, n_ctx=1024)
    model = EmbeddedModelProcess(config, model_path, flags=frozenset, python=str(python))
    assert model.health().extra_buffers.startswith("extra buffer types on")
    await model.start()
    try:
        health = model.health()
        assert mark.exists() and health.state == "ready"
        assert health.restarts == {"SIGSEGV": 1}
        assert health.extra_buffers == (
            "extra buffer types off (turned off: the self-test died with them on (SIGSEGV))"
        )
        assert model.info["extra_bufts"] is False
        assert (await model.generate(short())).completion_tokens > 0
    finally:
        await model.aclose()


@pytest.mark.parametrize("parallel", [1, None], ids=["sequential", "engine"])
async def test_both_decoders_judge_with_the_extra_buffer_types_forced_off(
    model_path: Path, parallel: int | None
) -> None:
    """What an AMX CPU runs. The weights' layout changes the kernels' sums (a near-tie may flip), not
    what a verdict is."""
    task = build_task(
        PairwiseItem(question="What is 7+5?", answer1="75", answer2="12", criteria=["Accuracy"]), 60
    )
    request = GenerationRequest(
        messages=task.messages, json_schema=task.schema, temperature=0.0, max_tokens=300
    )
    backend = LlamaCppBackend(LlamaCppModelConfig(parallel=parallel, n_ctx=2048), model_path, False)
    await backend.start()
    try:
        verdict = await backend.generate(request)
        if parallel == 1:  # llama-cpp-python's Llama has no option for it: check it was applied
            assert backend._llama.model_params.use_extra_bufts is False
        else:
            assert backend._engine._model_params.use_extra_bufts is False
    finally:
        await backend.aclose()
    Draft202012Validator(task.schema).validate(json.loads(verdict.text))
    assert verdict.completion_tokens > 0 and verdict.finish_reason == "stop"


async def test_extra_buffer_types_off_in_the_model_process(model_path: Path) -> None:
    model = process(model_path, extra_buffer_types=False)
    await model.start()
    try:
        assert model.info["extra_bufts"] is False
        assert model.health().extra_buffers == "extra buffer types off (configured)"
        assert "CPU" in str(model.info["system_info"])
        assert (await model.generate(short())).completion_tokens > 0
    finally:
        await model.aclose()
