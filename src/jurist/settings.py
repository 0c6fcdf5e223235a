"""Configuration, built once at start-up: environment (prefix ``JURIST_``) over an optional TOML file.

The TOML file is named by ``JURIST_CONFIG``. Environment variables win over the file. With no models
configured, ``pai-judge`` and ``pai-judge-plus`` both run on the embedded llama.cpp model.
This is the only module that reads the process environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from jurist.errors import ConfigError

DEFAULT_MODEL_NAMES = ("pai-judge", "pai-judge-plus")
StructuredOutput = Literal["json_schema", "json_object", "none"]


class ModelConfig(BaseModel):
    """One judge model: the name clients send, mapped to a backend."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["llama_cpp", "openai"] = "llama_cpp"
    description: str = ""
    # --- openai: any OpenAI-compatible upstream ---
    base_url: str | None = None
    model: str | None = None
    api_key: SecretStr | None = None
    api_key_env: str | None = None
    structured_output: StructuredOutput = "json_schema"
    timeout: float = Field(default=600.0, gt=0)
    connect_timeout: float = Field(default=10.0, gt=0)
    max_connections: int = Field(default=256, ge=1)
    # --- llama_cpp: an embedded GGUF model ---
    model_path: Path | None = None
    chat_format: str | None = None
    n_ctx: int = Field(default=4096, ge=256)
    n_batch: int = Field(default=512, ge=16)
    n_threads: int | None = Field(default=None, ge=1)
    seed: int = 0
    # --- generation defaults for judge prompts ---
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    reason_max_chars: int = Field(default=400, ge=20)
    swap: bool = False  # pairwise: judge both orders and reconcile, unless the item says otherwise
    samples: int = Field(default=1, ge=1, le=16)  # judgments drawn per order and aggregated
    sample_temperature: float = Field(default=0.7, gt=0.0, le=2.0)  # for samples after the first
    # token log-probabilities for expected_score (None: on for llama_cpp, off for an upstream)
    logprobs: bool | None = None
    top_logprobs: int = Field(default=10, ge=1, le=20)
    # --- batch runner ---
    max_concurrency: int | None = Field(default=None, ge=1)

    @property
    def concurrency(self) -> int:
        """Lines of a batch run at once per worker: 64 for an upstream, 1 for an embedded model."""
        return self.max_concurrency or (64 if self.backend == "openai" else 1)

    @model_validator(mode="after")
    def _check_backend_fields(self) -> ModelConfig:
        if self.backend == "openai" and not self.base_url:
            raise ValueError("backend 'openai' needs base_url (e.g. http://127.0.0.1:18000/v1)")
        return self

    @property
    def wants_logprobs(self) -> bool:
        return self.backend == "llama_cpp" if self.logprobs is None else self.logprobs

    @property
    def calls_per_item(self) -> dict[str, int]:
        """Backend calls per judged item (before repair re-asks), by mode."""
        return {"single": self.samples, "pairwise": self.samples * (2 if self.swap else 1)}

    def load_key(self) -> str:
        """What decides the loaded model: aliases with equal keys share one backend."""
        loading = {"backend", "model_path", "chat_format", "n_ctx", "n_batch", "n_threads", "seed"}
        return self.model_dump_json(include=loading)

    @property
    def is_bundled_model(self) -> bool:
        return self.backend == "llama_cpp" and self.model_path is None

    def resolved_api_key(self) -> str | None:
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        if self.api_key_env:
            value = os.environ.get(self.api_key_env)
            if value is None:
                raise ConfigError(f"api_key_env {self.api_key_env!r} is not set in the environment")
            return value
        return None


class Settings(BaseSettings):
    """Jurist's configuration. See README.md, section Configuration."""

    model_config = SettingsConfigDict(env_prefix="JURIST_", extra="ignore", frozen=True)

    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    data_dir: Path = Path(".jurist")
    database_url: str | None = None
    config: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_request_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = False
    embedded_n_threads: int | None = Field(default=None, ge=1)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    # --- files and batches ---
    max_file_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    tenant_quota_bytes: int = Field(default=100 * 1024**3, ge=1)
    max_batch_lines: int = Field(default=50_000, ge=1)
    file_storage: Literal["auto", "disk", "database"] = "auto"
    batch_status_style: Literal["openai", "pai"] = "openai"
    cache: bool = True  # serve deterministic (temperature 0) requests from the judge cache
    # --- batch runner ---
    run_worker: bool = True
    worker_lease_seconds: float = Field(default=60.0, gt=0)
    worker_poll_seconds: float = Field(default=0.2, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    retry_base_seconds: float = Field(default=1.0, ge=0)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = os.environ.get("JURIST_CONFIG")
        if path:
            if not Path(path).is_file():
                raise ConfigError(f"JURIST_CONFIG names {path!r}, which is not a file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        return tuple(sources)

    @property
    def effective_models(self) -> dict[str, ModelConfig]:
        """The configured models, or the two PAI model names on the embedded model."""
        if self.models:
            return dict(self.models)
        bundled = ModelConfig(backend="llama_cpp", n_threads=self.embedded_n_threads, reason_max_chars=120)
        plus = bundled.model_copy(update={"swap": True, "samples": 3})
        return dict(zip(DEFAULT_MODEL_NAMES, (bundled, plus), strict=True))

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'jurist.db'}"

    @property
    def resolved_file_storage(self) -> Literal["disk", "database"]:
        """Disk by default; in the database when the database is PostgreSQL (multi-node)."""
        if self.file_storage != "auto":
            return self.file_storage
        return "database" if self.resolved_database_url.startswith("postgres") else "disk"

    def masked(self) -> dict[str, Any]:
        """The effective configuration with secrets masked, for ``jurist config show``."""
        data = self.model_dump(mode="json")
        data["api_keys"] = [_mask(k) for k in self.api_keys]
        data["models"] = {
            name: {**cfg.model_dump(mode="json"), "api_key": _mask_secret(cfg.api_key)}
            for name, cfg in self.effective_models.items()
        }
        data["database_url"] = _mask_url(self.resolved_database_url)
        return data


def _mask(value: str) -> str:
    return value[:3] + "…" + value[-2:] if len(value) > 8 else "****"


def _mask_secret(secret: SecretStr | None) -> str | None:
    return None if secret is None else _mask(secret.get_secret_value())


def _mask_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:****@{host}"
    return url


def load_settings(**overrides: Any) -> Settings:
    """Build the settings once; ``overrides`` win over the environment (used by the CLI and tests)."""
    try:
        return Settings(**overrides)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from exc
