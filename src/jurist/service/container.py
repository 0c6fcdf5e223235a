"""The one composition root: from ``Settings`` to the services the API and CLI use."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jurist.backends.base import Backend
from jurist.backends.llama_cpp import BUNDLED_MODEL_NOTICE
from jurist.backends.registry import build_backends
from jurist.errors import ConfigError
from jurist.service.auth import Authenticator
from jurist.service.chat import ChatService, JudgeModel
from jurist.settings import Settings
from jurist.store.keys import KeyFile, digest

if TYPE_CHECKING:
    from collections.abc import Mapping

log = logging.getLogger("jurist")


@dataclass
class Services:
    settings: Settings
    auth: Authenticator
    chat: ChatService
    backends: list[Backend]
    new_key: str | None = None
    notices: list[str] = field(default_factory=list)

    async def start(self) -> None:
        for backend in self.backends:
            await backend.start()

    async def aclose(self) -> None:
        for backend in self.backends:
            await backend.aclose()


def build_authenticator(settings: Settings) -> tuple[Authenticator, str | None]:
    """Keys from ``JURIST_API_KEYS``; without them, the key file in the data dir, created (with one
    random key, returned so it can be printed once) on first start."""
    if settings.api_keys:
        return Authenticator([digest(k) for k in settings.api_keys]), None
    keys = KeyFile(settings.data_dir)
    new_key = None
    records = keys.load()
    if not records:
        new_key = keys.create(label="created on first start")
        records = keys.load()
    return Authenticator([r.digest for r in records]), new_key


def build_services(settings: Settings, backends: Mapping[str, Backend] | None = None) -> Services:
    """Wire everything. ``backends`` overrides the configured ones per model name (tests, demos)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    auth, new_key = build_authenticator(settings)
    configs = settings.effective_models
    overrides = dict(backends or {})
    unknown = set(overrides) - set(configs)
    if unknown:
        raise ConfigError(f"backend overrides for unconfigured models: {sorted(unknown)}")
    to_build = {name: cfg for name, cfg in configs.items() if name not in overrides}
    built = {**build_backends(to_build, settings.data_dir), **overrides}
    models = {name: JudgeModel(name, configs[name], built[name]) for name in configs}
    notices = []
    if any(cfg.is_bundled_model for name, cfg in to_build.items()):
        notices.append(BUNDLED_MODEL_NOTICE)
    unique: list[Backend] = []
    for backend in built.values():
        if all(backend is not b for b in unique):
            unique.append(backend)
    return Services(settings, auth, ChatService(models), unique, new_key, notices)
