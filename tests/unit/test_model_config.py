"""Model configuration: the union discriminated on ``backend``, misplaced and moved options, the README's
examples, the backend registry, aliases sharing a loaded model, and what the cache key reads."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import pytest
from starlette.testclient import TestClient

from jurist.api.app import create_app
from jurist.backends.fake import FakeBackend
from jurist.backends.registry import BACKENDS, BackendKind, build_backends, configured_models, with_kinds
from jurist.composition import build_services
from jurist.errors import ConfigError
from jurist.service.judging.cache import cache_key
from jurist.settings import (
    AUTO_MODEL_NAME,
    CascadeModelConfig,
    JudgingPolicy,
    LlamaCppModelConfig,
    ModelConfig,
    OpenAIModelConfig,
    load_settings,
)
from tests.support.verdicts import single_verdict_json

README = Path(__file__).parents[2] / "README.md"
# The README's examples before the judging block existed, verbatim: they must keep working.
OLD_README_UPSTREAM = """
# jurist.toml — run with: JURIST_CONFIG=jurist.toml make run
[models.pai-judge]
backend = "openai"
base_url = "http://127.0.0.1:18000/v1"
model = "qwen2.5-7b-instruct"
api_key_env = "UPSTREAM_KEY"          # or api_key = "..."
structured_output = "json_schema"     # json_schema | json_object | none
timeout = 600                         # seconds, per upstream call

[models.pai-judge-plus]
backend = "openai"
base_url = "https://dashscope.aliyuncs.com/compatible-mode/v1"
model = "qwen-max"
api_key_env = "DASHSCOPE_API_KEY"
structured_output = "json_object"     # many hosted APIs support json_object but not json_schema
"""
OLD_README_EMBEDDED = """
[models.pai-judge]
backend = "llama_cpp"
model_path = "/models/qwen2.5-7b-instruct-q4_k_m.gguf"
chat_format = "chatml"     # any llama-cpp-python chat format; omit to use the GGUF's own template
n_ctx = 8192
n_threads = 8
"""
# A file written for the flat keys the README listed as model options and judging policy.
FLAT = """
[models.pai-judge]
backend = "llama_cpp"
n_ctx = 2048
seed = 7
temperature = 0.2
reason_max_chars = 120
description = "flat"
max_concurrency = 2

[models."judge v2"]
backend = "openai"
base_url = "http://127.0.0.1:18000/v1"
swap = true
samples = 3
sample_temperature = 0.9
logprobs = true
top_logprobs = 5
max_tokens = 512
"""


def models_of(toml: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    path = tmp_path / "jurist.toml"
    path.write_text(toml)
    monkeypatch.setenv("JURIST_CONFIG", str(path))
    return configured_models(load_settings())


def test_the_union_is_discriminated_on_backend() -> None:
    tables: dict[str, Any] = {
        "up": {"backend": "openai", "base_url": "http://x/v1", "judging": {"samples": 2, "seed": 5}},
        "gguf": {"backend": "llama_cpp", "model_path": "/m.gguf", "n_ctx": 8192},
        "untyped": {"model_path": "/m.gguf"},  # no backend: llama_cpp, as before the union
    }
    models = configured_models(load_settings(models=tables)).models
    assert [type(m) for m in models.values()] == [OpenAIModelConfig, LlamaCppModelConfig, LlamaCppModelConfig]
    assert models["up"].judging == JudgingPolicy(samples=2, seed=5)
    assert isinstance(models["gguf"], LlamaCppModelConfig) and models["gguf"].n_ctx == 8192
    assert models["gguf"].load_key() != models["untyped"].load_key()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"backend": "openai", "base_url": "http://x/v1", "n_ctx": 8192},
            "model 'judge-x' (backend 'openai'): unknown option 'n_ctx' (an option of backend 'llama_cpp')",
        ),
        (
            {"backend": "llama_cpp", "base_url": "http://x/v1"},
            "model 'judge-x' (backend 'llama_cpp'): unknown option 'base_url' (an option of backend 'openai')",
        ),
        (
            {"backend": "openai", "base_url": "http://x/v1", "judging": {"timeout": 5}},
            "model 'judge-x' (backend 'openai'): unknown option 'judging.timeout' (a backend option: "
            "write it next to 'backend')",
        ),
        (
            {"backend": "openai", "base_url": "http://x/v1", "temprature": 0.5},
            "model 'judge-x' (backend 'openai'): unknown option 'temprature'",
        ),
        ({"backend": "openai"}, "model 'judge-x' (backend 'openai'): missing option 'base_url'"),
        (
            {"backend": "openai", "base_url": "http://x/v1", "judging": {"samples": 17}},
            "model 'judge-x' (backend 'openai'): option 'judging.samples': Input should be less than or equal "
            "to 16",
        ),
        (
            {"backend": "tgi"},
            "model 'judge-x': unknown backend 'tgi' (known: 'cascade', 'llama_cpp', 'openai')",
        ),
        (
            {"backend": "openai", "base_url": "http://x/v1", "swap": True, "judging": {"swap": False}},
            "model 'judge-x' (backend 'openai'): 'swap' is set both flat and in [models.judge-x.judging]; "
            "keep only the one in [models.judge-x.judging]",
        ),
    ],
)
def test_a_misplaced_option_is_rejected_naming_model_and_option(table: dict[str, Any], message: str) -> None:
    settings = load_settings(models={"judge-x": table})
    with pytest.raises(ConfigError) as caught:
        configured_models(settings)
    assert caught.value.message == message


def test_every_bad_model_is_reported_at_once_before_anything_starts(tmp_path: Path) -> None:
    tables = {"a": {"backend": "openai", "base_url": "http://x/v1", "n_threads": 2}, "b": {"n_cxt": 1}}
    settings = load_settings(data_dir=tmp_path / "data", models=tables)
    with pytest.raises(ConfigError) as caught:
        build_services(settings)
    assert caught.value.message.splitlines() == [
        "model 'a' (backend 'openai'): unknown option 'n_threads' (an option of backend 'llama_cpp')",
        "model 'b' (backend 'llama_cpp'): unknown option 'n_cxt'",
    ]
    assert not (tmp_path / "data").exists()  # no key file created for a server that cannot start


def test_flat_judging_keys_still_work_with_one_notice_per_moved_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = models_of(FLAT, tmp_path, monkeypatch)
    embedded, upstream = configured.models["pai-judge"], configured.models["judge v2"]
    assert embedded.judging == JudgingPolicy(seed=7, temperature=0.2, reason_max_chars=120)
    assert (embedded.description, embedded.concurrency) == ("flat", 2)  # model options, not moved
    assert upstream.judging == JudgingPolicy(
        swap=True, samples=3, sample_temperature=0.9, logprobs=True, top_logprobs=5, max_tokens=512
    )
    assert configured.notices == (
        "models.pai-judge: 'seed' moved to [models.pai-judge.judging]; the flat key still works",
        "models.pai-judge: 'temperature' moved to [models.pai-judge.judging]; the flat key still works",
        "models.pai-judge: 'reason_max_chars' moved to [models.pai-judge.judging]; the flat key still works",
        *(
            f'models."judge v2": {key!r} moved to [models."judge v2".judging]; the flat key still works'
            for key in ("swap", "samples", "sample_temperature", "logprobs", "top_logprobs", "max_tokens")
        ),
    )


def test_flat_keys_reach_the_start_up_notices(tmp_path: Path) -> None:
    tables = {"pai-judge": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "swap": True}}
    services = build_services(load_settings(data_dir=tmp_path, api_keys=["sk-x"], models=tables))
    assert services.notices == [
        "models.pai-judge: 'swap' moved to [models.pai-judge.judging]; the flat key still works"
    ]


@pytest.mark.parametrize("toml", [OLD_README_UPSTREAM, OLD_README_EMBEDDED])
def test_the_old_readme_examples_still_load(
    toml: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = models_of(toml, tmp_path, monkeypatch)
    assert configured.notices == ()
    for config in configured.models.values():
        assert config.judging == JudgingPolicy()
    if "pai-judge-plus" in toml:  # both editions configured: their cascade is added
        auto = configured.models.pop(AUTO_MODEL_NAME)
        assert isinstance(auto, CascadeModelConfig) and auto.cascade == ("pai-judge", "pai-judge-plus")
    if "llama_cpp" in toml:
        local = configured.models["pai-judge"]
        assert isinstance(local, LlamaCppModelConfig) and (local.n_ctx, local.n_threads) == (8192, 8)
    else:
        assert [m.backend for m in configured.models.values()] == ["openai", "openai"]


def readme_tomls() -> list[str]:
    """The TOML examples of the README and of the documentation pages it leads to (docs/)."""
    pages = [README, *sorted((README.parent / "docs").rglob("*.md"))]
    blocks = [
        b for page in pages for b in re.findall(r"```toml\n(.*?)```", page.read_text(), flags=re.DOTALL)
    ]
    assert len(blocks) >= 2
    return blocks


@pytest.mark.parametrize("toml", readme_tomls())
def test_the_readme_examples_load(toml: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configured = models_of(toml, tmp_path, monkeypatch)
    assert configured.notices == ()  # the README shows the current shape
    named = set(tomllib.loads(toml)["models"])
    auto = {AUTO_MODEL_NAME} if {"pai-judge", "pai-judge-plus"} <= named else set()
    assert set(configured.models) == named | auto
    load_keys = {m.load_key() for m in configured.models.values() if isinstance(m, LlamaCppModelConfig)}
    assert len(load_keys) <= 1  # the embedded example's two names share one loaded model


class ScriptedModelConfig(ModelConfig):
    """A third backend: the scripted fake, configured from the TOML file."""

    backend: Literal["fake"] = "fake"
    answer: str = ""  # what every call answers

    default_concurrency = 4


def _scripted(alias: str, config: ScriptedModelConfig, data_dir: Path) -> FakeBackend:
    return FakeBackend(default=config.answer)


def test_a_third_backend_is_one_class_and_one_registry_entry(tmp_path: Path) -> None:
    registry = with_kinds(BACKENDS, BackendKind(ScriptedModelConfig, _scripted))
    tables = {
        "scripted": {
            "backend": "fake",
            "answer": single_verdict_json(4),
            "description": "answers from a script",
            "samples": 2,  # flat keys are moved for every backend
        },
        "pai-judge": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1"},
    }
    settings = load_settings(data_dir=tmp_path, api_keys=["sk-x"], run_worker=False, models=tables)
    with pytest.raises(ConfigError, match="unknown backend 'fake'"):
        configured_models(settings)  # the default registry does not know it
    bad = load_settings(models={"s": {"backend": "fake", "n_ctx": 1}})
    with pytest.raises(ConfigError, match=r"model 's' \(backend 'fake'\): unknown option 'n_ctx'"):
        configured_models(bad, registry)

    services = build_services(settings, registry=registry)
    assert services.notices == [
        "models.scripted: 'samples' moved to [models.scripted.judging]; the flat key still works"
    ]
    scripted = services.chat.models["scripted"]
    assert isinstance(scripted.backend, FakeBackend) and scripted.config.concurrency == 4
    item = {"mode": "single", "type": "json", "json": {"question": "2+2?", "answer": "4"}}
    auth = {"Authorization": "Bearer sk-x"}
    with TestClient(create_app(services)) as http:
        card = http.get("/v1/models/scripted", headers=auth).json()
        answer = http.post(
            "/v1/chat/completions",
            headers=auth,
            json={"model": "scripted", "messages": [{"role": "user", "content": [item]}]},
        )
    assert card["description"] == "answers from a script"
    assert card["judging"]["calls_per_item"] == {"single": 2, "pairwise": 2}
    assert answer.status_code == 200, answer.text
    assert len(scripted.backend.history) == 2  # two samples, both from the scripted backend


def test_aliases_that_differ_only_in_judging_share_one_loaded_model(tmp_path: Path) -> None:
    base = {"backend": "llama_cpp", "model_path": str(tmp_path / "m.gguf"), "n_ctx": 2048}
    tables = {
        "a": base,
        "b": {**base, "description": "b", "max_concurrency": 3, "judging": {"swap": True, "seed": 9}},
        "c": {**base, "n_ctx": 4096},
    }
    models = configured_models(load_settings(models=tables)).models
    built = build_backends(models, tmp_path)
    assert built["a"] is built["b"] and built["c"] is not built["a"]


def test_the_cache_key_follows_answers_not_credentials(tmp_path: Path) -> None:
    raw = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    upstream = OpenAIModelConfig(base_url="http://x/v1", model="qwen")
    same = [
        {"api_key": "sk-other"},
        {"api_key_env": "KEY"},
        {"max_connections": 8},
        {"timeout": 5.0, "connect_timeout": 1.0},
        {"description": "renamed"},
        {"max_concurrency": 2},
    ]
    for update in same:
        changed = OpenAIModelConfig.model_validate({**upstream.model_dump(), **update})
        assert cache_key(raw, changed) == cache_key(raw, upstream), update
    different = [
        {"model": "qwen-max"},
        {"base_url": "http://y/v1"},
        {"structured_output": "none"},
        {"judging": {"temperature": 0.5}},
        {"judging": {"samples": 3}},
        {"judging": {"seed": 1}},
        {"judging": {"reason_max_chars": 100}},
    ]
    for update in different:
        changed = OpenAIModelConfig.model_validate({**upstream.model_dump(), **update})
        assert cache_key(raw, changed) != cache_key(raw, upstream), update
    embedded = LlamaCppModelConfig(model_path=tmp_path / "m.gguf")
    assert cache_key(raw, embedded) != cache_key(raw, embedded.model_copy(update={"n_ctx": 8192}))
    assert cache_key(raw, embedded) == cache_key(raw, embedded.model_copy(update={"description": "x"}))
