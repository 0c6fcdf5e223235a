"""A judge model as the judging pipeline runs it: its configuration, its backend and, for a cascade, its
stages in order."""

from __future__ import annotations

from dataclasses import dataclass

from jurist.backends.base import Backend
from jurist.settings import CascadeModelConfig, ModelConfig


@dataclass(frozen=True)
class JudgeModel:
    name: str
    config: ModelConfig
    backend: Backend  # a cascade's: its first stage's (custom templates go there)
    stages: tuple[JudgeModel, ...] = ()  # a cascade's stages, in order

    @property
    def escalate_below(self) -> float:
        """A cascade's confidence below which a stage escalates when no agreement target is held."""
        config = self.config
        return config.escalate_below if isinstance(config, CascadeModelConfig) else 1.0
