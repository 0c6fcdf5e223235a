"""Settings: environment over the TOML file, keys, the config file setting, masked secrets, the
commands' configuration errors and `jurist db upgrade`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jurist.backends.registry import configured_models
from jurist.cli.main import app
from jurist.errors import ConfigError
from jurist.settings import (
    AUTO_MODEL_NAME,
    DEFAULT_MODEL_NAMES,
    CascadeModelConfig,
    JudgingPolicy,
    LlamaCppModelConfig,
    OpenAIModelConfig,
    load_settings,
)
from jurist.settings.models import default_parallel

TOML = """
[models.pai-judge]
backend = "openai"
base_url = "http://127.0.0.1:18000/v1"
model = "qwen2.5-7b-instruct"
api_key = "sk-upstream-secret"
structured_output = "json_object"

[models.pai-judge.judging]
swap = true

[models.local]
backend = "llama_cpp"
model_path = "/models/qwen.gguf"
chat_format = "chatml"
"""


def test_defaults_put_both_pai_models_on_the_embedded_model(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, embedded_n_threads=3)
    configured = configured_models(settings)
    models, notices = configured.models, configured.notices
    assert tuple(models) == (*DEFAULT_MODEL_NAMES, AUTO_MODEL_NAME) and notices == ()
    assert all(
        isinstance(models[m], LlamaCppModelConfig) and models[m].is_bundled_model for m in DEFAULT_MODEL_NAMES
    )
    auto = models[AUTO_MODEL_NAME]
    assert isinstance(auto, CascadeModelConfig) and auto.cascade == DEFAULT_MODEL_NAMES
    plain, plus = models["pai-judge"], models["pai-judge-plus"]
    assert (plain.judging.swap, plain.judging.samples, plus.judging.swap, plus.judging.samples) == (
        False, 1, True, 3,
    )  # fmt: skip
    assert plain.reason_limit == plus.reason_limit == 120
    assert plain.judging.calls_per_item == {"single": 1, "pairwise": 1}
    assert plus.judging.calls_per_item == {"single": 3, "pairwise": 6}
    assert plain.load_key() == plus.load_key()  # one loaded model serves both
    assert isinstance(plain, LlamaCppModelConfig) and plain.n_threads == 3
    assert plain.description.startswith("pai-judge on") and "cannot judge" in plus.description
    no_logprobs = plain.model_copy(update={"judging": JudgingPolicy(logprobs=False)})
    assert plain.wants_logprobs and not no_logprobs.wants_logprobs
    assert plain.concurrency == default_parallel()  # the engine decodes that many together
    assert settings.host == "127.0.0.1" and settings.port == 8000 and settings.config is None
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'jurist.db'}"


def test_env_keys_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JURIST_API_KEYS", "sk-a, sk-b,,")
    monkeypatch.setenv("JURIST_PORT", "9000")
    settings = load_settings()
    assert settings.api_keys == ["sk-a", "sk-b"]
    assert settings.port == 9000


def test_toml_file_and_env_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "jurist.toml"
    path.write_text('port = 7000\nhost = "127.0.0.2"\n' + TOML)
    monkeypatch.setenv("JURIST_CONFIG", str(path))
    monkeypatch.setenv("JURIST_PORT", "7001")
    settings = load_settings()
    assert settings.port == 7001  # the environment wins over the file
    assert settings.host == "127.0.0.2" and settings.config == path
    models = configured_models(settings).models
    judge = models["pai-judge"]
    assert isinstance(judge, OpenAIModelConfig) and judge.model == "qwen2.5-7b-instruct"
    assert judge.structured_output == "json_object" and judge.judging.swap
    assert judge.resolved_api_key() == "sk-upstream-secret"
    assert judge.concurrency == 64 and not judge.wants_logprobs and judge.reason_limit is None
    local = models["local"]
    assert isinstance(local, LlamaCppModelConfig) and local.chat_format == "chatml"
    assert "pai-judge-plus" not in models


def test_the_config_setting_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "jurist.toml"
    path.write_text("port = 7002\n")
    settings = load_settings(config=path)  # the same as JURIST_CONFIG
    assert settings.port == 7002 and settings.config == path


def test_api_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    models = {"m": {"backend": "openai", "base_url": "http://x/v1", "api_key_env": "UPSTREAM_KEY"}}
    monkeypatch.setenv("UPSTREAM_KEY", "from-env")
    judge = configured_models(load_settings(models=models)).models["m"]
    assert isinstance(judge, OpenAIModelConfig) and judge.resolved_api_key() == "from-env"
    monkeypatch.delenv("UPSTREAM_KEY")
    with pytest.raises(ConfigError, match="UPSTREAM_KEY"):
        judge.resolved_api_key()


def test_config_show_masks_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "jurist.toml"
    path.write_text(TOML + "samples = 2\n")  # a flat key on [models.local]
    monkeypatch.setenv("JURIST_CONFIG", str(path))
    monkeypatch.setenv("JURIST_API_KEYS", "sk-very-secret-key")
    monkeypatch.setenv("JURIST_DATABASE_URL", "postgresql://jurist:hunter2@db/jurist")
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "sk-upstream-secret" not in result.stdout and "sk-very-secret-key" not in result.stdout
    assert "hunter2" not in result.stdout
    shown = json.loads(result.stdout)
    assert shown["models"]["pai-judge"]["api_key"].startswith("sk-")
    assert shown["models"]["pai-judge"]["judging"]["swap"] is True
    assert shown["models"]["local"]["judging"]["samples"] == 2 and shown["config"] == str(path)
    assert shown["database_url"] == "postgresql://jurist:****@db/jurist"
    assert "'samples' moved to [models.local.judging]" in result.stderr


@pytest.mark.parametrize("command", [["config", "show"], ["worker"], ["run", "in.jsonl", "-o", "out.jsonl"]])
def test_commands_report_a_bad_option(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "jurist.toml"
    path.write_text('[models.m]\nbackend = "openai"\nbase_url = "http://x/v1"\nn_ctx = 1\n')
    monkeypatch.setenv("JURIST_CONFIG", str(path))
    monkeypatch.setenv("JURIST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text("")
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "model 'm' (backend 'openai'): unknown option 'n_ctx'" in " ".join(result.stderr.split())


def test_invalid_configurations_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JURIST_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="not a file"):
        load_settings()


def test_db_upgrade_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JURIST_DATABASE_URL", f"sqlite:///{tmp_path / 'j.db'}")
    first = CliRunner().invoke(app, ["db", "upgrade"])
    assert first.exit_code == 0 and "applied 0001_files_batches_requests" in first.output
    again = CliRunner().invoke(app, ["db", "upgrade"])
    assert again.exit_code == 0 and "schema is up to date" in again.output
