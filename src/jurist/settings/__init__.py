"""Jurist's configuration, built once at start-up. This package is the only place that reads the
process environment: ``app`` (the settings and their sources), ``models`` (what one judge model is:
a configuration class per backend and the judging policy), ``tables`` (typing the ``[models.NAME]``
tables, with the deprecated flat judging keys)."""

from jurist.settings.app import Settings, load_settings
from jurist.settings.models import (
    AUTO_MODEL_NAME,
    DEFAULT_MODEL_NAMES,
    CascadeModelConfig,
    JudgingPolicy,
    LlamaCppModelConfig,
    ModelConfig,
    OpenAIModelConfig,
)
from jurist.settings.tables import ModelSet

__all__ = [
    "AUTO_MODEL_NAME",
    "DEFAULT_MODEL_NAMES",
    "CascadeModelConfig",
    "JudgingPolicy",
    "LlamaCppModelConfig",
    "ModelConfig",
    "ModelSet",
    "OpenAIModelConfig",
    "Settings",
    "load_settings",
]
