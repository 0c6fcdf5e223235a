from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jurist.cli.main import app
from jurist.errors import ConfigError
from jurist.settings import DEFAULT_MODEL_NAMES, load_settings

TOML = """
[models.pai-judge]
backend = "openai"
base_url = "http://127.0.0.1:18000/v1"
model = "qwen2.5-7b-instruct"
api_key = "sk-upstream-secret"
structured_output = "json_object"

[models.local]
backend = "llama_cpp"
model_path = "/models/qwen.gguf"
chat_format = "chatml"
"""


def test_defaults_put_both_pai_models_on_the_embedded_model(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    models = settings.effective_models
    assert tuple(models) == DEFAULT_MODEL_NAMES
    assert all(m.backend == "llama_cpp" and m.is_bundled_model for m in models.values())
    plain, plus = models["pai-judge"], models["pai-judge-plus"]
    assert (plain.swap, plain.samples, plus.swap, plus.samples) == (False, 1, True, 3)
    assert plain.calls_per_item == {"single": 1, "pairwise": 1}
    assert plus.calls_per_item == {"single": 3, "pairwise": 6}
    assert plain.load_key() == plus.load_key()  # one loaded model serves both
    assert (
        plain.wants_logprobs and not models["pai-judge"].model_copy(update={"logprobs": False}).wants_logprobs
    )
    assert settings.host == "127.0.0.1" and settings.port == 8000
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
    assert settings.host == "127.0.0.2"
    judge = settings.effective_models["pai-judge"]
    assert judge.backend == "openai" and judge.model == "qwen2.5-7b-instruct"
    assert judge.structured_output == "json_object"
    assert judge.resolved_api_key() == "sk-upstream-secret"
    assert settings.effective_models["local"].chat_format == "chatml"
    assert "pai-judge-plus" not in settings.effective_models


def test_api_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    models = {"m": {"backend": "openai", "base_url": "http://x/v1", "api_key_env": "UPSTREAM_KEY"}}
    monkeypatch.setenv("UPSTREAM_KEY", "from-env")
    assert load_settings(models=models).effective_models["m"].resolved_api_key() == "from-env"
    monkeypatch.delenv("UPSTREAM_KEY")
    with pytest.raises(ConfigError, match="UPSTREAM_KEY"):
        load_settings(models=models).effective_models["m"].resolved_api_key()


def test_invalid_configurations_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="base_url"):
        load_settings(models={"m": {"backend": "openai"}})
    with pytest.raises(ConfigError, match="backend"):
        load_settings(models={"m": {"backend": "tgi"}})
    monkeypatch.setenv("JURIST_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="not a file"):
        load_settings()


def test_config_show_masks_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "jurist.toml"
    path.write_text(TOML)
    monkeypatch.setenv("JURIST_CONFIG", str(path))
    monkeypatch.setenv("JURIST_API_KEYS", "sk-very-secret-key")
    monkeypatch.setenv("JURIST_DATABASE_URL", "postgresql://jurist:hunter2@db/jurist")
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "sk-upstream-secret" not in result.output and "sk-very-secret-key" not in result.output
    assert "hunter2" not in result.output
    shown = json.loads(result.output)
    assert shown["models"]["pai-judge"]["api_key"].startswith("sk-")
    assert shown["database_url"] == "postgresql://jurist:****@db/jurist"


def test_db_upgrade_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JURIST_DATABASE_URL", f"sqlite:///{tmp_path / 'j.db'}")
    first = CliRunner().invoke(app, ["db", "upgrade"])
    assert first.exit_code == 0 and "applied 0001_files_batches_requests" in first.output
    again = CliRunner().invoke(app, ["db", "upgrade"])
    assert again.exit_code == 0 and "schema is up to date" in again.output
