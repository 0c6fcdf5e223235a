"""``Settings``: built once at start-up from the environment (prefix ``JURIST_``) over an optional TOML
file, named by ``JURIST_CONFIG`` (the ``config`` setting). Environment variables win over the file.

The ``[models.NAME]`` tables are kept as written here and typed by backend in ``effective_models``,
with the backend registry's configuration classes (``jurist.backends.registry``): the settings
cannot import the backends, which sit above them. With no models configured, ``pai-judge`` and
``pai-judge-plus`` both run on the embedded llama.cpp model."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from jurist.errors import ConfigError
from jurist.settings.models import ModelConfig, default_models
from jurist.settings.tables import ModelSet, parse_models


class Settings(BaseSettings):
    """Jurist's configuration. See docs/reference/config.md (generated from these fields)."""

    model_config = SettingsConfigDict(env_prefix="JURIST_", extra="ignore", frozen=True)

    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    data_dir: Path = Path(".jurist")
    database_url: str | None = None
    config: Path | None = None  # the TOML file read: JURIST_CONFIG, or load_settings(config=...)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_request_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = False
    embedded_n_threads: int | None = Field(default=None, ge=1)
    models: dict[str, dict[str, object]] = Field(default_factory=dict)  # as written; see effective_models
    # --- files and batches ---
    max_file_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    tenant_quota_bytes: int = Field(default=100 * 1024**3, ge=1)
    max_batch_lines: int = Field(default=50_000, ge=1)
    file_storage: Literal["auto", "disk", "database"] = "auto"
    batch_status_style: Literal["openai", "pai"] = "openai"
    cache: bool = True  # serve deterministic (temperature 0) requests from the judge cache
    # whose answers a cached verdict serves: the tenant's own (the tenant is in the key), or every
    # tenant's ("global": more hits, but a hit tells a tenant that someone judged the same text)
    cache_scope: Literal["tenant", "global"] = "tenant"
    # --- evals ---
    # the python grader runs callers' code (in a sandboxed subprocess): off unless a deployment says so
    python_grader: bool = False
    python_grader_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    python_grader_memory_mb: int = Field(default=512, ge=64, le=8192)
    # --- batch runner ---
    run_worker: bool = True
    worker_lease_seconds: float = Field(default=60.0, gt=0)
    worker_poll_seconds: float = Field(default=0.2, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    retry_base_seconds: float = Field(default=1.0, ge=0)
    # --- tenants: keys, limits, fair shares (limits of a tenant in the database win over these) ---
    admin_key: SecretStr | None = None  # manages keys and reads every tenant's usage; never a tenant
    key_cache_seconds: float = Field(default=1.0, gt=0, le=60)  # a revoked key stops working within this
    default_weight: float = Field(default=1.0, gt=0)  # a tenant's share of the batch runner
    default_rpm: int | None = Field(default=None, ge=1)  # chat completions per minute per tenant
    default_tpm: int | None = Field(default=None, ge=1)  # tokens per minute per tenant
    default_max_batches: int | None = Field(default=None, ge=1)  # batches in progress per tenant
    default_max_queued_lines: int | None = Field(default=None, ge=1)  # lines waiting per tenant
    # --- usage, metrics, shutdown, housekeeping ---
    usage_flush_seconds: float = Field(default=2.0, gt=0)  # usage counters are written this often
    metrics_tenant_labels: int = Field(default=50, ge=0)  # tenants named in /metrics; others: "other"
    # /metrics answers this Bearer token (for Prometheus) or the admin key; with neither, no one
    metrics_token: SecretStr | None = None
    drain_seconds: float = Field(default=30.0, ge=0)  # on SIGTERM: in-flight lines may finish this long
    notify: bool = True  # PostgreSQL LISTEN/NOTIFY wakes workers at once (polling stays the fallback)
    sweep_seconds: float = Field(default=300.0, gt=0)  # housekeeping runs this often (one node at a time)
    batch_rows_retention_days: float = Field(default=7.0, ge=0)  # line rows of finished batches
    # the web console at /console (and / redirecting there); a session lasts this long after sign-in
    console: bool = True
    console_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)

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
        # the ``config`` setting names the file: read from the sources that outrank the file itself
        path = init_settings().get("config") or env_settings().get("config")
        if path:
            if not Path(path).is_file():
                raise ConfigError(f"the configuration file {str(path)!r} (JURIST_CONFIG) is not a file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        return tuple(sources)

    def effective_models(self, kinds: Mapping[str, type[ModelConfig]]) -> ModelSet:
        """The configured models typed by backend (``kinds``: backend name to configuration class, from
        the backend registry), or the two PAI model names on the embedded model."""
        if not self.models:
            return ModelSet(default_models(self.embedded_n_threads))
        return parse_models(self.models, kinds)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'jurist.db'}"

    @property
    def resolved_file_storage(self) -> Literal["disk", "database"]:
        """Disk by default; in the database when the database is PostgreSQL (multi-node)."""
        if self.file_storage != "auto":
            return self.file_storage
        return "database" if self.resolved_database_url.startswith("postgres") else "disk"

    def masked(self, models: Mapping[str, ModelConfig]) -> dict[str, Any]:
        """The effective configuration (with its typed ``models``) with secrets masked, for
        ``jurist config show``."""
        data = self.model_dump(mode="json")
        data["api_keys"] = [_mask(k) for k in self.api_keys]
        if self.admin_key is not None:
            data["admin_key"] = _mask(self.admin_key.get_secret_value())
        if self.metrics_token is not None:
            data["metrics_token"] = _mask(self.metrics_token.get_secret_value())
        data["models"] = {name: _masked_model(cfg) for name, cfg in models.items()}
        data["database_url"] = _mask_url(self.resolved_database_url)
        return data


def _mask(value: str) -> str:
    return value[:3] + "…" + value[-2:] if len(value) > 8 else "****"


def _masked_model(config: ModelConfig) -> dict[str, Any]:
    data = config.model_dump(mode="json")
    for name, value in config:
        if isinstance(value, SecretStr):
            data[name] = _mask(value.get_secret_value())
    return data


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
