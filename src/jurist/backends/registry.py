"""Build one backend per distinct model configuration: aliases that share a configuration (by
default ``pai-judge`` and ``pai-judge-plus`` on the embedded model) share one loaded model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from jurist.backends.base import Backend
from jurist.backends.llama_cpp import LlamaCppBackend, bundled_model_path
from jurist.backends.openai_compat import OpenAIBackend
from jurist.settings import ModelConfig


def _llama(alias: str, config: ModelConfig, data_dir: Path) -> Backend:
    path = config.model_path or bundled_model_path(data_dir)
    return LlamaCppBackend(config, path)


def _openai(alias: str, config: ModelConfig, data_dir: Path) -> Backend:
    return OpenAIBackend(alias, config)


FACTORIES: dict[str, Callable[[str, ModelConfig, Path], Backend]] = {
    "llama_cpp": _llama,
    "openai": _openai,
}


def build_backends(models: dict[str, ModelConfig], data_dir: Path) -> dict[str, Backend]:
    built: dict[str, Backend] = {}
    by_config: dict[str, Backend] = {}
    for alias, config in models.items():
        key = config.load_key() if config.backend == "llama_cpp" else alias
        if key not in by_config:
            by_config[key] = FACTORIES[config.backend](alias, config, data_dir)
        built[alias] = by_config[key]
    return built
