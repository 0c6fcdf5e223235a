"""The AMX guard's decision, from a fake CPU-flags source (the machines running the tests may lack AMX)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jurist.backends.cpu_features import cpu_flags, extra_buffers
from jurist.backends.llama_process import EmbeddedModelProcess
from jurist.settings import LlamaCppModelConfig

SAPPHIRE_RAPIDS = (
    "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n"
    "flags\t\t: fpu vme sse sse2 avx avx2 avx512f avx512_vnni amx_bf16 avx512_fp16 amx_tile amx_int8\n"
    "bugs\t\t: spectre_v1\n\nprocessor\t: 1\nflags\t\t: fpu avx2 amx_tile amx_int8 amx_bf16\n"
)
ZEN4 = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 avx512f avx512_vnni avx512_bf16\n"
GRAVITON = "processor\t: 0\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 sve\n"


def cpuinfo(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    return path


def test_flags_are_read_from_x86_and_arm_cpuinfo(tmp_path: Path) -> None:
    x86 = cpu_flags(cpuinfo(tmp_path, SAPPHIRE_RAPIDS))
    assert {"amx_tile", "amx_int8", "amx_bf16", "avx512f"} <= x86 and "spectre_v1" not in x86
    assert "sve" in cpu_flags(cpuinfo(tmp_path, GRAVITON))
    assert cpu_flags(tmp_path / "missing") == frozenset()


@pytest.mark.parametrize(
    ("text", "configured", "enabled"),
    [
        (SAPPHIRE_RAPIDS, None, False),  # AMX: the guard turns the extra buffer types off
        (ZEN4, None, True),  # AVX-512 without AMX: nothing to avoid
        (GRAVITON, None, True),
        (SAPPHIRE_RAPIDS, True, True),  # a model's explicit choice wins
        (ZEN4, False, False),
    ],
)
def test_extra_buffer_types_are_off_on_amx_cpus_unless_configured(
    tmp_path: Path, text: str, configured: bool | None, enabled: bool
) -> None:
    decision = extra_buffers(configured, cpu_flags(cpuinfo(tmp_path, text)))
    assert decision.enabled is enabled
    if configured is None and not enabled:
        assert "amx_int8" in decision.reason and "20824" in decision.reason
    if configured is not None:
        assert decision.reason == "configured"


def test_the_embedded_model_applies_the_decision_of_its_cpu(tmp_path: Path) -> None:
    path = cpuinfo(tmp_path, SAPPHIRE_RAPIDS)
    model = EmbeddedModelProcess(LlamaCppModelConfig(), tmp_path / "m.gguf", flags=lambda: cpu_flags(path))
    health = model.health()
    assert health.state == "stopped" and health.extra_buffers.startswith("extra buffer types off")
    other = EmbeddedModelProcess(LlamaCppModelConfig(), tmp_path / "m.gguf", flags=frozenset)
    assert other.health().extra_buffers.startswith("extra buffer types on")


def test_a_model_loaded_in_this_process_follows_its_configuration_or_the_cpu(tmp_path: Path) -> None:
    from jurist.backends.cpu_features import CPUINFO
    from jurist.backends.llama_cpp import LlamaCppBackend

    configured = LlamaCppBackend(LlamaCppModelConfig(extra_buffer_types=False), tmp_path / "m.gguf")
    assert configured._extra_bufts is False
    here = LlamaCppBackend(LlamaCppModelConfig(), tmp_path / "m.gguf")
    assert here._extra_bufts is extra_buffers(None, cpu_flags(CPUINFO)).enabled
