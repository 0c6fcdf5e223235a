"""What the CPU can do, and whether llama.cpp may use its extra weight buffer types on it.

llama.cpp repacks weights into "extra buffer types" at load (``llama_model_params.use_extra_bufts``): an
interleaved layout for its AVX2 / NEON kernels, and on CPUs with AMX tiles a layout for its AMX kernel.
That AMX kernel segfaults on Q4_K_M weights (``ggml_backend_amx_mul_mat``; ggml-org/llama.cpp#20824,
closed without a fix). A wheel of llama-cpp-python built on an AMX machine (``GGML_NATIVE``) carries it,
and pip's wheel cache can bring such a wheel back to any machine, so the guard is decided when the model
is loaded, from the CPU it runs on, not when llama.cpp is built: on a CPU with AMX the extra buffer types
are off, elsewhere on. A model's ``extra_buffer_types = true | false`` overrides the decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

AMX_FLAGS = frozenset({"amx_tile", "amx_int8", "amx_bf16"})
CPUINFO = Path("/proc/cpuinfo")

FlagsSource = Callable[[], frozenset[str]]


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (x86 ``flags``, ARM ``Features``); empty where
    there is no such file (not Linux)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in ("flags", "features"):
            return frozenset(value.split())
    return frozenset()


@dataclass(frozen=True)
class ExtraBuffers:
    """Whether the model loads with llama.cpp's extra buffer types, and why."""

    enabled: bool
    reason: str

    def describe(self) -> str:
        return f"extra buffer types {'on' if self.enabled else 'off'} ({self.reason})"


def extra_buffers(configured: bool | None, flags: frozenset[str]) -> ExtraBuffers:
    """The decision for a model: as configured, else off on a CPU with AMX, else on."""
    if configured is not None:
        return ExtraBuffers(configured, "configured")
    amx = sorted(flags & AMX_FLAGS)
    if amx:
        return ExtraBuffers(
            False,
            f"the CPU has {', '.join(amx)}: llama.cpp's AMX kernel crashes on Q4_K_M weights "
            "(ggml-org/llama.cpp#20824)",
        )
    return ExtraBuffers(True, "no AMX on this CPU")
