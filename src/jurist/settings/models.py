"""What one judge model is: a name clients send, a backend with its own options, and a judging policy.

``ModelConfig`` is the base of a discriminated union on ``backend``: each backend has one subclass
that sets ``backend`` to a literal and adds the options of that backend (``OpenAIModelConfig``,
``LlamaCppModelConfig``). Which subclasses exist is decided by the backend registry
(``jurist.backends.registry``), which pairs each class with the factory that builds its backend, so
a new backend is one class here (or anywhere) plus one registry entry. Options a backend does not
have are rejected (``extra="forbid"``); ``jurist.settings.tables`` names the model and the option.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from jurist.errors import ConfigError

DEFAULT_MODEL_NAMES = ("pai-judge", "pai-judge-plus")
AUTO_MODEL_NAME = "pai-judge-auto"  # the cascade of the two, by default
StructuredOutput = Literal["json_schema", "json_object", "none"]


class JudgingPolicy(BaseModel):
    """How a model judges (``[models.NAME.judging]``): the same on every backend.

    ``temperature`` and ``max_tokens`` are also the defaults of custom-template requests."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    # caps each reason of a verdict where the backend enforces the schema by grammar (embedded)
    reason_max_chars: int = Field(default=400, ge=20)
    # verdict length unless the item says otherwise: "full" (PAI's text), "short" (one short sentence per
    # reason), "none" (scores only); the same literal as protocol.items.Reasons (settings sit below it)
    reasons: Literal["full", "short", "none"] = "full"
    swap: bool = False  # pairwise: judge both orders and reconcile, unless the item says otherwise
    samples: int = Field(default=1, ge=1, le=16)  # judgments drawn per order and aggregated
    sample_temperature: float = Field(default=0.7, gt=0.0, le=2.0)  # for samples after the first
    seed: int = 0  # sample s of an ensemble is drawn with seed + s
    # token log-probabilities for expected_score (None: the backend's default)
    logprobs: bool | None = None
    top_logprobs: int = Field(default=10, ge=1, le=20)
    # selective verdicts: the default agreement target (None: every verdict is decided) and its delta;
    # a tenant without a calibration that supports it gets decided verdicts and a warning
    agreement_target: float | None = Field(default=None, gt=0.5, lt=1.0)
    delta: float = Field(default=0.1, gt=0.0, lt=1.0)

    @property
    def calls_per_item(self) -> dict[str, int]:
        """Backend calls per judged item (before repair re-asks), by mode."""
        return {"single": self.samples, "pairwise": self.samples * (2 if self.swap else 1)}


class ModelConfig(BaseModel):
    """One judge model. Subclass per backend: set ``backend: Literal["name"] = "name"``, add the
    backend's options, and override the class-level facts below where they differ."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str
    description: str = ""  # shown by GET /v1/models/{id}
    max_concurrency: int | None = Field(default=None, ge=1)  # batch lines at once per worker
    judging: JudgingPolicy = Field(default_factory=JudgingPolicy)
    # --- the provider's limits, shared by every server and worker through the database ---
    rpm: int | None = Field(default=None, ge=1)  # requests per minute to the backend
    tpm: int | None = Field(default=None, ge=1)  # tokens (prompt + completion) per minute
    # circuit breaker: this many failures in a row open it; a probe is let through after the cooldown
    circuit_failures: int = Field(default=5, ge=1)
    circuit_cooldown_seconds: float = Field(default=30.0, gt=0)
    # --- prices, in the currency of your choice per 1M tokens (usage and cost reports) ---
    input_price_per_million: float = Field(default=0.0, ge=0)
    output_price_per_million: float = Field(default=0.0, ge=0)

    # --- facts about a backend, set by its subclass ---
    default_concurrency: ClassVar[int] = 1  # when max_concurrency is unset
    logprobs_by_default: ClassVar[bool] = False  # when judging.logprobs is unset
    grammar_constrained: ClassVar[bool] = False  # the backend enforces reason_max_chars
    remote: ClassVar[bool] = False  # reached over the network: guarded by the circuit breaker
    # options that cannot change an answer (credentials, pools, timeouts): left out of the cache key
    not_in_cache_key: ClassVar[frozenset[str]] = frozenset(
        {
            "description", "max_concurrency", "rpm", "tpm", "circuit_failures", "circuit_cooldown_seconds",
            "input_price_per_million", "output_price_per_million",
        }
    )  # fmt: skip

    @classmethod
    def backend_name(cls) -> str:
        """The ``backend`` value this class is chosen by (the default of its literal field)."""
        name = cls.model_fields["backend"].default
        if not isinstance(name, str):
            raise TypeError(f"{cls.__name__} must declare backend: Literal['name'] = 'name'")
        return name

    @property
    def concurrency(self) -> int:
        """Lines of a batch run at once per worker."""
        return self.max_concurrency or self.default_concurrency

    @property
    def wants_logprobs(self) -> bool:
        logprobs = self.judging.logprobs
        return self.logprobs_by_default if logprobs is None else logprobs

    @property
    def reason_limit(self) -> int | None:
        """The cap on each verdict reason, where the backend can enforce it."""
        return self.judging.reason_max_chars if self.grammar_constrained else None

    def load_key(self) -> str | None:
        """Aliases with the same (not None) key share one backend; None: one backend per alias."""
        return None


class OpenAIModelConfig(ModelConfig):
    """Any OpenAI-compatible upstream (vLLM, Ollama, llama.cpp server, OpenAI, DashScope)."""

    backend: Literal["openai"] = "openai"
    base_url: str = Field(min_length=1)  # e.g. http://127.0.0.1:18000/v1
    model: str | None = None  # the upstream's model name; default: the alias
    api_key: SecretStr | None = None
    api_key_env: str | None = None
    structured_output: StructuredOutput = "json_schema"
    timeout: float = Field(default=600.0, gt=0)
    connect_timeout: float = Field(default=10.0, gt=0)
    max_connections: int = Field(default=256, ge=1)

    default_concurrency: ClassVar[int] = 64
    remote: ClassVar[bool] = True
    not_in_cache_key: ClassVar[frozenset[str]] = ModelConfig.not_in_cache_key | {
        "api_key", "api_key_env", "timeout", "connect_timeout", "max_connections",
    }  # fmt: skip

    def resolved_api_key(self) -> str | None:
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        if self.api_key_env:
            value = os.environ.get(self.api_key_env)
            if value is None:
                raise ConfigError(f"api_key_env {self.api_key_env!r} is not set in the environment")
            return value
        return None


def cores() -> int:
    return os.cpu_count() or 1


def default_parallel() -> int:
    """Sequences the embedded engine decodes together when ``parallel`` is unset: 4 per core, at most 8.
    The output head of a 262k-token vocabulary costs about as much for 4-16 rows as for 3
    (docs/benchmarks.md §11), so more slots share it; past 8 each slot's KV cells and the attention over
    a longer unified cache cost more than they bring on a small model."""
    return max(1, min(8, 4 * cores()))


class LlamaCppModelConfig(ModelConfig):
    """A GGUF model run by llama.cpp in a process of its own; without ``model_path``, the bundled
    Gemma 3 270M."""

    backend: Literal["llama_cpp"] = "llama_cpp"
    model_path: Path | None = None
    chat_format: str | None = None  # any llama-cpp-python chat format; None: the GGUF's own template
    n_ctx: int = Field(default=4096, ge=256)
    n_batch: int = Field(default=512, ge=16)
    n_threads: int | None = Field(default=None, ge=1)
    # sequences decoded together by the batching engine (llama_engine), each with n_ctx cells of one
    # unified KV cache; 1: one request at a time (the sequential decoder); unset: default_parallel(),
    # lowered at load to what the model's trained context holds
    parallel: int | None = Field(default=None, ge=1, le=64)
    # llama.cpp's extra weight buffer types (repacked kernels); unset: off on a CPU with AMX, whose
    # kernel crashes on Q4_K_M, on elsewhere (backends.cpu_features)
    extra_buffer_types: bool | None = None
    # the model runs in a process of its own, restarted when it dies (backends.llama_process); false:
    # in the server's process, where a crash of llama.cpp takes the whole service down (debugging only)
    isolated: bool = True
    # restarts: at most this many crashes within crash_window_seconds, then the model is marked failed
    max_crashes: int = Field(default=3, ge=1)
    crash_window_seconds: float = Field(default=60.0, gt=0)
    start_timeout_seconds: float = Field(default=300.0, gt=0)

    logprobs_by_default: ClassVar[bool] = True
    grammar_constrained: ClassVar[bool] = True

    def load_key(self) -> str:
        """What decides the loaded model: aliases that differ only in judging policy (or description,
        or concurrency) share one loaded model."""
        return self.model_dump_json(
            include={
                "backend",
                "model_path",
                "chat_format",
                "n_ctx",
                "n_batch",
                "n_threads",
                "parallel",
                "extra_buffer_types",
                "isolated",
                "max_crashes",
                "crash_window_seconds",
                "start_timeout_seconds",
            }
        )

    @property
    def concurrency(self) -> int:
        """With the batching engine, as many requests at once as it has sequences."""
        return self.max_concurrency or self.parallel or default_parallel()

    @property
    def is_bundled_model(self) -> bool:
        return self.model_path is None


class CascadeModelConfig(ModelConfig):
    """A cascade of configured judges (``cascade = ["pai-judge", "pai-judge-plus"]``): the first judges;
    when its confidence is below its threshold the next one judges, and so on; the last one decides, or
    abstains when an agreement target is asked for and it is not confident either (``service.cascade``).

    A stage's threshold is chosen on the tenant's calibration of that stage for the agreement target;
    without a target, a stage escalates when its confidence (calibrated, or the raw signal) is below
    ``escalate_below``."""

    backend: Literal["cascade"] = "cascade"
    cascade: tuple[str, ...] = Field(min_length=2, max_length=4)
    escalate_below: float = Field(default=0.75, ge=0.0, le=1.0)


def default_models(n_threads: int | None) -> dict[str, ModelConfig]:
    """With no models configured: PAI's two names on the bundled embedded model, and
    ``pai-judge-auto``, their cascade."""
    bundled = "the bundled Gemma 3 270M base model (runs offline; it cannot judge: for development)"
    plain = LlamaCppModelConfig(
        n_threads=n_threads,
        description=f"pai-judge on {bundled}",
        judging=JudgingPolicy(reason_max_chars=120),
    )
    plus = plain.model_copy(
        update={
            "description": f"pai-judge-plus (both orders, 3 samples each) on {bundled}",
            "judging": JudgingPolicy(reason_max_chars=120, swap=True, samples=3),
        }
    )
    return {
        **dict(zip(DEFAULT_MODEL_NAMES, (plain, plus), strict=True)),
        AUTO_MODEL_NAME: auto_cascade(),
    }


def auto_cascade() -> CascadeModelConfig:
    return CascadeModelConfig(
        cascade=DEFAULT_MODEL_NAMES,
        description="pai-judge first; pai-judge-plus only when pai-judge is not confident enough",
    )
