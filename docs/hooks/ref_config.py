"""The configuration reference, from the code: every ``Settings`` field (pydantic-settings, prefix
``JURIST_``) and every option of the ``[models.NAME]`` tables (the model configuration classes and the
judging policy), with its type, default and bounds read from the field. A field's description is the
comment beside it (or just above it) in the source; ``DESCRIPTIONS`` below adds a user's words where the
source has none or says it for developers. A description naming a field that no longer exists fails the
build."""

from __future__ import annotations

import inspect
import io
import re
import tokenize
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from jurist.settings import (
    CascadeModelConfig,
    JudgingPolicy,
    LlamaCppModelConfig,
    ModelConfig,
    OpenAIModelConfig,
    Settings,
)
from jurist.settings.tables import DEFAULT_BACKEND

OPS = "../operations"
SETTINGS: dict[str, str] = {
    "api_keys": "comma-separated keys, each its own tenant. Unset: a random key is created on first start, "
    "stored hashed in the data dir, and printed once (`jurist keys create` makes more). Tenants' keys in "
    f"the database: [Keys and tenants]({OPS}/limits-and-keys.md#keys-and-tenants)",
    "data_dir": "keys, the assembled embedded model, the SQLite database and file bytes kept on disk",
    "database_url": "unset: SQLite in the data dir (`jurist.db`); or `postgresql://…` for several servers "
    f"and workers ([Several nodes]({OPS}/several-nodes.md))",
    "config": "the TOML file to read (`jurist config show` prints it as `config`); environment variables "
    "win over it",
    "host": "the address to bind (also `jurist serve --host`)",
    "port": "the port to listen on (also `jurist serve --port`)",
    "max_request_bytes": "API bodies larger than this get 413",
    "log_level": "the log level",
    "access_log": "log every HTTP request (uvicorn's access log)",
    "embedded_n_threads": "threads for the default embedded model (unset: every core)",
    "models": "the `[models.NAME]` tables, in the TOML file: see [Model options](#model-options)",
    "max_file_bytes": "the largest file `POST /v1/files` takes",
    "tenant_quota_bytes": "stored bytes per tenant (all the account's files), checked before the bytes "
    f"are accepted: 429 past it ([Limits]({OPS}/limits-and-keys.md#limits))",
    "max_batch_lines": "requests in one batch input file (more: `too_many_tasks`)",
    "file_storage": "where file bytes live: `auto` (on disk, or in the database when it is PostgreSQL), "
    "`disk`, `database`",
    "batch_status_style": "`pai` reports PAI's batch status names (`Creating`, `Running`, `Succeeded`, …) "
    "and its field names `in_process_at`, `FinalizingAt`",
    "cache_scope": "`tenant` (each tenant's own judge cache) or `global` (shared: see "
    f"[Security]({OPS}/security.md) for its privacy cost)",
    "python_grader": "run evals' `python` graders (callers' code, in a sandboxed subprocess; see "
    "[Evals](../evals/index.md#the-python-grader))",
    "python_grader_timeout_seconds": "each python grade's wall-clock limit",
    "python_grader_memory_mb": "each python grade's memory limit",
    "run_worker": "`jurist serve` runs a batch worker in its process; `false` leaves the work to "
    "`jurist worker` processes",
    "worker_lease_seconds": "a claimed line's lease: a killed worker's lines are claimed again once it "
    "expires",
    "worker_poll_seconds": "how often a worker looks for work (on PostgreSQL, `NOTIFY` wakes it at once)",
    "max_attempts": "tries of a batch line on retryable upstream errors (429, 5xx, timeouts) before it "
    "goes to the error file",
    "retry_base_seconds": "the base of the exponential backoff between tries",
    "admin_key": "the admin key: `/v1/admin/…` (keys, tenants, every tenant's usage); never a tenant",
    "metrics_token": "a Bearer token for `/metrics` (Prometheus); unset and without `JURIST_ADMIN_KEY`, "
    "`/metrics` is closed",
    "console": "the web console at `/console/` (`/` redirects there)",
    "console_session_hours": "how long a console session lasts after sign-in",
}
MODEL_OPTIONS: dict[str, str] = {
    "backend": "`openai` or `llama_cpp` (or a backend you add); `cascade` when `cascade` is set",
    "description": "shown as `description` by `GET /v1/models` and `/v1/models/{id}`",
    "max_concurrency": "batch lines run at once per worker (and items at once in `jurist eval`); unset: "
    "64 for `openai`, `parallel` for `llama_cpp`",
    "rpm": "the provider's requests per minute, shared by every server and worker "
    f"([Provider limits]({OPS}/limits-and-keys.md#provider-limits-shared-by-every-node))",
    "tpm": "the provider's tokens (prompt + completion) per minute, shared by every server and worker",
    "circuit_failures": "upstream failures in a row that open the circuit breaker (used by `openai`)",
    "circuit_cooldown_seconds": "how long an open circuit fails fast before one probe goes through",
    "input_price_per_million": "price of 1M prompt tokens, in the currency of your choice "
    f"([Usage and cost]({OPS}/usage.md))",
    "output_price_per_million": "price of 1M completion tokens",
    "base_url": "the upstream's OpenAI-compatible API, e.g. `http://127.0.0.1:18000/v1`",
    "model": "the name sent upstream (unset: the table's name)",
    "api_key": "the upstream key",
    "api_key_env": "the environment variable holding the upstream key",
    "structured_output": "how verdicts are constrained: `json_schema`, `json_object`, `none`",
    "timeout": "seconds, per upstream call",
    "connect_timeout": "seconds to connect",
    "max_connections": "the connection pool",
    "model_path": "a GGUF file (unset: the bundled Gemma 3 270M)",
    "chat_format": "any llama-cpp-python chat format (unset: the GGUF's own template)",
    "n_ctx": "context tokens per slot of the engine",
    "n_batch": "llama.cpp's batch size",
    "n_threads": "unset: every core (cores − 1 with `parallel = 1`)",
    "parallel": "requests decoded together by the embedded engine, each slot with `n_ctx` tokens of one KV "
    "cache; unset: 4 per core, at most 8, lowered to fit the model's trained context; `1`: the sequential "
    f"decoder, bit-identical per seed ([The batching engine]({OPS}/embedded-model.md#the-batching-engine))",
    "extra_buffer_types": "llama.cpp's extra weight buffer types (repacked kernels); unset: off on a CPU "
    f"with AMX, else on ([The embedded model]({OPS}/embedded-model.md#amx-cpus))",
    "isolated": "the model in a process of its own, restarted when it dies; `false`: in the server's "
    "process (debugging only)",
    "max_crashes": "deaths of the model's process within `crash_window_seconds` that mark the model failed",
    "crash_window_seconds": "the window of `max_crashes`",
    "start_timeout_seconds": "how long the model's process may take to load and self-test",
    "cascade": "the models it runs in order (2–4 configured models, none itself a cascade); makes the "
    "model a cascade",
    "escalate_below": "without an agreement target, a stage escalates below this confidence",
    "reasons": "verdict length unless the item says otherwise: `full` (PAI's text), `short` (one short "
    "sentence per reason, at most 80 characters under a grammar), `none` (scores only)",
    "temperature": "also the default of custom-template requests",
    "max_tokens": "also the default of custom-template requests (unset: 1024 on the embedded engine)",
    "reason_max_chars": "caps each reason where a grammar enforces it (`llama_cpp`); the built-in models "
    "use 120",
    "top_logprobs": "log-probabilities returned per token, for `expected_score`",
    "logprobs": "token log-probabilities, for `judgment.expected_score` (unset: on for `llama_cpp`, off "
    "for `openai`)",
    "agreement_target": "a default agreement target for selective verdicts (a tenant whose calibration "
    "cannot support it gets decided verdicts and a warning)",
    "delta": "the agreement target's delta",
}
# fields the source lists under another section's heading
SECTIONS = {"console": "console", "console_session_hours": "console"}
_SECTION = re.compile(r"^#\s*---\s*(.+?)\s*---\s*$")
_FIELD = re.compile(r"^    (\w+)\s*:")


def _comments(cls: type) -> tuple[dict[str, str], dict[str, str]]:
    """For each field of ``cls`` written in its class body: (the comment beside or above it, the
    ``# --- section ---`` it sits under)."""
    source = inspect.getsource(cls)
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string.lstrip("#").strip()
    lines = source.splitlines()
    found: dict[str, str] = {}
    sections: dict[str, str] = {}
    section = ""
    above: list[str] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        heading = _SECTION.match(stripped)
        if heading:
            section, above = heading.group(1), []
            continue
        if stripped.startswith("#"):
            above.append(comments.get(number, ""))
            continue
        match = _FIELD.match(line)
        if match:
            beside = comments.get(number, "")
            text = beside if beside and not beside.startswith("fmt:") else " ".join(above)
            found[match.group(1)] = text
            sections[match.group(1)] = section
        above = []
    return found, sections


def _type(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return " \\| ".join(f'`"{a}"`' if isinstance(a, str) else f"`{a}`" for a in args)
    if origin in (Union, types.UnionType):
        return " \\| ".join(_type(a) for a in args if a is not type(None))
    if getattr(origin, "__name__", "") == "Annotated" or hasattr(annotation, "__metadata__"):
        return _type(args[0])
    if origin in (list, tuple, dict):
        inner = ", ".join(_type(a) for a in args if a is not Ellipsis)
        return f"{origin.__name__}[{inner}]"
    if annotation is SecretStr:
        return "secret"
    if annotation is Path:
        return "path"
    return getattr(annotation, "__name__", str(annotation))


def _size(value: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if value >= size and value % size == 0:
            return f"{value // size} {unit}"
    return str(value)


def _default(name: str, field: FieldInfo) -> str:
    if name == "backend":  # a table without ``backend``
        return f'`"{DEFAULT_BACKEND}"`'
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None or value in ([], {}):
        return "unset"
    if isinstance(value, BaseModel):
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int) and name.endswith("_bytes"):
        return _size(value)
    if isinstance(value, str | Path):
        return f'`"{value}"`' if isinstance(value, str) else f"`{value}`"
    return f"`{value}`"


def _bounds(field: FieldInfo) -> str:
    words = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "min_length": "length ≥", "max_length": "length ≤"}
    out = []
    for item in field.metadata:
        for attr, word in words.items():
            value = getattr(item, attr, None)
            if value is not None:
                out.append(f"{word} {_size(value) if isinstance(value, int) and value > 2**20 else value}")
    return ", ".join(out)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _row(first: str, name: str, field: FieldInfo, described: dict[str, str], comments: dict[str, str]) -> str:
    text = described.get(name) or comments.get(name) or ""
    bounds = _bounds(field)
    kind = _type(field.annotation) + (f" ({bounds})" if bounds else "")
    return f"| {first} | {kind} | {_default(name, field)} | {_cell(text)} |"


def render_settings() -> str:
    comments, sections = _comments(Settings)
    out: list[str] = []
    current = None
    for name, field in Settings.model_fields.items():
        section = SECTIONS.get(name) or sections.get(name) or "server"
        if section != current:
            current = section
            title, _, note = section.partition(" (")
            out += ["", f"### {title[0].upper()}{title[1:]}", ""]
            if note:
                out += [f"{note[0].upper()}{note[1:].rstrip(')')}.", ""]
            out += ["| environment variable (TOML key) | type | default | |", "|---|---|---|---|"]
        first = f"`JURIST_{name.upper()}` (`{name}`)"
        out.append(_row(first, name, field, SETTINGS, comments))
    return "\n".join(out).strip() + "\n"


def _options(cls: type[BaseModel], own_only: bool) -> list[str]:
    comments, _ = _comments(cls)
    base = set(ModelConfig.model_fields) if own_only else set()
    rows = ["| option | type | default | |", "|---|---|---|---|"]
    for name, field in cls.model_fields.items():
        if name in base or name == "judging":
            continue
        rows.append(_row(f"`{name}`", name, field, MODEL_OPTIONS, comments))
    return rows


def render_model_options() -> str:
    parts = [
        ("Every model", "`[models.NAME]`, whatever its backend.", ModelConfig, False),
        ("`openai`", OpenAIModelConfig.__doc__ or "", OpenAIModelConfig, True),
        ("`llama_cpp`", inspect.cleandoc(LlamaCppModelConfig.__doc__ or ""), LlamaCppModelConfig, True),
        ("`cascade`", "A cascade of configured judges (`backend = \"cascade\"`, or just `cascade = [...]`).",
         CascadeModelConfig, True),
        ("Judging policy", "`[models.NAME.judging]`: how a model judges, the same on every backend.",
         JudgingPolicy, False),
    ]  # fmt: skip
    out: list[str] = []
    for title, intro, cls, own in parts:
        intro = " ".join(intro.split()).replace("``", "`")
        out += [f"### {title}", "", intro, "", *_options(cls, own), ""]
    return "\n".join(out)


def stale_descriptions() -> list[str]:
    """Descriptions above that name no field (the field was renamed or removed)."""
    settings = set(Settings.model_fields)
    options = set().union(
        *(c.model_fields for c in (OpenAIModelConfig, LlamaCppModelConfig, CascadeModelConfig, JudgingPolicy))
    )
    return [
        *(f"docs/hooks/ref_config.py: no setting {n!r}" for n in sorted(set(SETTINGS) - settings)),
        *(f"docs/hooks/ref_config.py: no model option {n!r}" for n in sorted(set(MODEL_OPTIONS) - options)),
    ]
