"""From the ``[models.NAME]`` tables of the configuration to typed model configurations.

Each table is one member of the discriminated union on ``backend``: ``kinds`` maps each backend name
to its ``ModelConfig`` subclass (the backend registry supplies it). Errors name the model, its
backend and the option, e.g. ``model 'judge-x' (backend 'openai'): unknown option 'n_ctx' (an option
of backend 'llama_cpp')``; every problem of every model is reported at once, as one ``ConfigError``.

Tables written before the judging block existed keep working: a judging option written flat
(``swap = true`` next to ``backend``) is moved into ``judging``, and the move is reported as a
one-line deprecation notice per key, shown at start-up."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from jurist.errors import ConfigError
from jurist.settings.models import (
    AUTO_MODEL_NAME,
    DEFAULT_MODEL_NAMES,
    CascadeModelConfig,
    JudgingPolicy,
    ModelConfig,
    auto_cascade,
)

DEFAULT_BACKEND = "llama_cpp"  # a table without ``backend`` (as before the union existed)
JUDGING_OPTIONS = frozenset(JudgingPolicy.model_fields)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")

ModelTable = Mapping[str, object]


@dataclass(frozen=True)
class ModelSet:
    """The typed models, and the notices (deprecated keys) to show once at start-up."""

    models: dict[str, ModelConfig]
    notices: tuple[str, ...] = ()


def parse_models(tables: Mapping[str, ModelTable], kinds: Mapping[str, type[ModelConfig]]) -> ModelSet:
    """Typed models; a table with ``cascade`` (and no ``backend``) is a cascade of other models. When
    ``pai-judge`` and ``pai-judge-plus`` are both configured, ``pai-judge-auto`` is their cascade unless
    that name is configured too."""
    kinds = {**kinds, CascadeModelConfig.backend_name(): CascadeModelConfig}
    models: dict[str, ModelConfig] = {}
    notices: list[str] = []
    problems: list[str] = []
    for name, table in tables.items():
        try:
            config, moved = _parse_model(name, table, kinds)
        except _Invalid as exc:
            problems += exc.problems
            continue
        models[name] = config
        notices += [_moved_notice(name, key) for key in moved]
    problems += _cascade_problems(models)
    if problems:
        raise ConfigError("\n".join(problems))
    if all(name in models for name in DEFAULT_MODEL_NAMES) and AUTO_MODEL_NAME not in tables:
        models[AUTO_MODEL_NAME] = auto_cascade()
    return ModelSet(models, tuple(notices))


def _cascade_problems(models: Mapping[str, ModelConfig]) -> list[str]:
    """Each stage of a cascade must be a configured model that is not itself a cascade."""
    problems = []
    for name, config in models.items():
        if not isinstance(config, CascadeModelConfig):
            continue
        for stage in config.cascade:
            target = models.get(stage)
            if target is None:
                problems.append(
                    f"model {name!r} (backend 'cascade'): stage {stage!r} is not a configured model"
                )
            elif isinstance(target, CascadeModelConfig):
                problems.append(f"model {name!r} (backend 'cascade'): stage {stage!r} is itself a cascade")
        if len(set(config.cascade)) != len(config.cascade):
            problems.append(f"model {name!r} (backend 'cascade'): a stage is named twice")
    return problems


class _Invalid(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _parse_model(
    name: str, table: ModelTable, kinds: Mapping[str, type[ModelConfig]]
) -> tuple[ModelConfig, list[str]]:
    default = CascadeModelConfig.backend_name() if "cascade" in table else DEFAULT_BACKEND
    backend = table.get("backend", default)
    cls = kinds.get(backend) if isinstance(backend, str) else None
    if cls is None:
        known = ", ".join(repr(k) for k in sorted(kinds))
        raise _Invalid([f"model {name!r}: unknown backend {backend!r} (known: {known})"])
    where = f"model {name!r} (backend {backend!r})"
    data, moved = _move_flat_judging(name, table, cls, where)
    try:
        return cls.model_validate(data), moved
    except ValidationError as exc:
        raise _Invalid([f"{where}: {_describe(error, kinds)}" for error in exc.errors()]) from exc


def _move_flat_judging(
    name: str, table: ModelTable, cls: type[ModelConfig], where: str
) -> tuple[dict[str, object], list[str]]:
    """The table with judging options written flat moved into ``judging``, and the keys moved."""
    moved = [k for k in table if k in JUDGING_OPTIONS and k not in cls.model_fields]
    if not moved:
        return dict(table), []
    block = table.get("judging", {})
    if not isinstance(block, Mapping):
        return dict(table), []  # validation reports the malformed block
    both = [k for k in moved if k in block]
    if both:
        section = _section(name)
        raise _Invalid(
            [
                f"{where}: {k!r} is set both flat and in {section}; keep only the one in {section}"
                for k in both
            ]
        )
    data = {k: v for k, v in table.items() if k not in moved}
    data["judging"] = {**block, **{k: table[k] for k in moved}}
    return data, moved


def _describe(error: ErrorDetails, kinds: Mapping[str, type[ModelConfig]]) -> str:
    option = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        key = str(error["loc"][-1])
        owners = sorted(b for b, cls in kinds.items() if key in cls.model_fields)
        if len(error["loc"]) == 1 and owners:
            return f"unknown option {option!r} (an option of backend {', '.join(map(repr, owners))})"
        if len(error["loc"]) > 1 and error["loc"][0] == "judging" and owners:
            return f"unknown option {option!r} (a backend option: write it next to 'backend')"
        return f"unknown option {option!r}"
    if error["type"] == "missing":
        return f"missing option {option!r}"
    return f"option {option!r}: {error['msg']}"


def _section(name: str) -> str:
    return f"[models.{_toml_key(name)}.judging]"


def _toml_key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name)  # a TOML basic string


def _moved_notice(name: str, key: str) -> str:
    return f"models.{_toml_key(name)}: {key!r} moved to {_section(name)}; the flat key still works"
