"""The backend registry: where a backend's configuration class and the factory of its backend meet.

A backend is one ``ModelConfig`` subclass (its options, ``backend`` as the discriminator) plus one
``BackendKind`` entry here. The registry types the ``[models.NAME]`` tables (``configured_models``)
and builds one backend per distinct model (``build_backends``): aliases whose configuration has the
same ``load_key()`` (by default ``pai-judge`` and ``pai-judge-plus`` on the embedded model) share one
loaded model. Tests and embedders pass a registry of their own (``with_kinds(BACKENDS, ...)``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from jurist.backends.base import Backend
from jurist.backends.llama_cpp import LlamaCppBackend, bundled_model_path
from jurist.backends.llama_process import EmbeddedModelProcess
from jurist.backends.openai_compat import OpenAIBackend
from jurist.settings import LlamaCppModelConfig, ModelConfig, ModelSet, OpenAIModelConfig, Settings

C = TypeVar("C", bound=ModelConfig)


@dataclass(frozen=True)
class BackendKind(Generic[C]):
    """One backend: its configuration class and how to build it (alias, its config, the data dir)."""

    config: type[C]
    build: Callable[[str, C, Path], Backend]

    @property
    def name(self) -> str:
        return self.config.backend_name()


Registry = Mapping[str, BackendKind[Any]]


def with_kinds(base: Registry, *kinds: BackendKind[Any]) -> Registry:
    """A read-only registry: ``base`` plus ``kinds``, each under its configuration's backend name."""
    return MappingProxyType({**base, **{kind.name: kind for kind in kinds}})


def _llama(alias: str, config: LlamaCppModelConfig, data_dir: Path) -> Backend:
    path = config.model_path or bundled_model_path(data_dir)
    if config.isolated:
        return EmbeddedModelProcess(config, path)
    return LlamaCppBackend(config, path)


def _openai(alias: str, config: OpenAIModelConfig, data_dir: Path) -> Backend:
    return OpenAIBackend(alias, config)


BACKENDS: Registry = with_kinds(
    {},
    BackendKind(LlamaCppModelConfig, _llama),
    BackendKind(OpenAIModelConfig, _openai),
)


def configured_models(settings: Settings, registry: Registry = BACKENDS) -> ModelSet:
    """The settings' models typed by the registry's configuration classes (a ``ConfigError`` names
    each bad option and its model), with the start-up notices of deprecated flat keys."""
    return settings.effective_models({name: kind.config for name, kind in registry.items()})


def build_backends(
    models: Mapping[str, ModelConfig], data_dir: Path, registry: Registry = BACKENDS
) -> dict[str, Backend]:
    built: dict[str, Backend] = {}
    by_key: dict[str, Backend] = {}
    for alias, config in models.items():
        key = config.load_key() or f"alias:{alias}"
        if key not in by_key:
            by_key[key] = registry[config.backend].build(alias, config, data_dir)
        built[alias] = by_key[key]
    return built
