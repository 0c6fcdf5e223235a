"""The ``python`` grader's sandbox (evals §4.3, §7 item 24): real child processes, each grade bounded by
short limits. Whatever the machine offers (namespaces or not), a grader must not reach the network,
write files, see the server's environment or start processes; the tests that matter are run both with
the namespaces and without them (the audit hook and rlimits alone), so a machine without user
namespaces is covered too."""

from __future__ import annotations

import asyncio
import os
import select
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jurist.service.evals import python_grader
from jurist.service.evals.python_grader import (
    BASELINE_PROTECTIONS,
    PythonSandbox,
    SandboxLimits,
    SandboxResult,
)
from tests.support.python_grader import LIMITS, grade

# ---------------------------------------------------------------- scores and grader errors


async def test_a_passing_grader_returns_its_score(default_sandbox: PythonSandbox) -> None:
    source = (
        "def grade(sample, item):\n"
        "    assert isinstance(sample, dict) and isinstance(item, dict)\n"
        "    return (sample['output_text'] == item['reference']) * item['weight'] / 4\n"
    )
    result = await grade(default_sandbox, source)
    assert result == SandboxResult(0.5, None, result.duration, result.protections)
    assert set(BASELINE_PROTECTIONS) <= set(result.protections)
    assert 0 < result.duration < 10


async def test_an_int_result_is_a_score(default_sandbox: PythonSandbox) -> None:
    result = await grade(default_sandbox, "def grade(sample, item):\n    return 1\n")
    assert (result.score, result.error) == (1.0, None)


async def test_an_exception_is_a_runtime_error(default_sandbox: PythonSandbox) -> None:
    result = await grade(default_sandbox, "def grade(sample, item):\n    return 1 / 0\n")
    assert result.score is None
    assert result.error == "runtime_error: ZeroDivisionError: division by zero"
    assert not result.server_fault


@pytest.mark.parametrize(
    ("returned", "shown"),
    [
        ("float('nan')", "nan"),
        ("float('inf')", "inf"),
        ("'x'", "'x'"),
        ("True", "True"),
        ("None", "None"),
        ("[1.0]", "[1.0]"),
    ],
)
async def test_nan_inf_and_non_numbers_are_invalid_results(
    default_sandbox: PythonSandbox, returned: str, shown: str
) -> None:
    result = await grade(default_sandbox, f"def grade(sample, item):\n    return {returned}\n")
    assert result.score is None
    assert result.error is not None and result.error.startswith(f"invalid_result: returned {shown}")
    assert result.error_kind == "invalid_result"


async def test_what_the_grader_prints_does_not_disturb_the_result(default_sandbox: PythonSandbox) -> None:
    source = (
        "import sys\n"
        "print('{\"score\": 99}')\n"
        "def grade(sample, item):\n"
        "    print('{\"score\": 42}' * 1000)\n"
        "    sys.stderr.write('noise\\n')\n"
        "    return 0.25\n"
    )
    result = await grade(default_sandbox, source)
    assert (result.score, result.error) == (0.25, None)


async def test_the_grader_can_read_and_use_the_standard_library(sandbox: PythonSandbox) -> None:
    source = (
        "import os, statistics, collections, dataclasses, json\n"
        "@dataclasses.dataclass\n"
        "class Row:\n"
        "    weight: float = 1.0\n"
        "Point = collections.namedtuple('Point', 'x y', defaults=[0])\n"
        "def grade(sample, item):\n"
        "    stdlib = os.path.dirname(os.__file__)\n"
        "    os.close(os.open(stdlib, os.O_RDONLY | os.O_DIRECTORY))\n"
        "    with open(os.path.join(stdlib, 'json', '__init__.py')) as f:\n"
        "        assert 'JSON' in f.read()\n"
        "    return statistics.mean([Point(1).x, Row().weight * 2]) / 2\n"
    )
    result = await grade(sandbox, source)
    assert (result.score, result.error) == (0.75, None)


async def test_import_paths_are_importable_and_nothing_else_is(tmp_path: Path) -> None:
    library = tmp_path / "graderlib"
    library.mkdir()
    (library / "helpers.py").write_text("def half(x):\n    return x / 2\n")
    for path in (tmp_path, library):  # a server running as root grades as nobody
        path.chmod(0o755)
    (library / "helpers.py").chmod(0o644)
    source = "import helpers\ndef grade(sample, item):\n    return helpers.half(item['weight'])\n"
    with_library = PythonSandbox(LIMITS, import_paths=[str(library)])
    result = await grade(with_library, source)
    assert (result.score, result.error) == (1.0, None)
    result = await grade(PythonSandbox(LIMITS), source)
    assert result.error == "runtime_error: ModuleNotFoundError: No module named 'helpers'"


async def test_no_server_code_is_on_the_graders_path(sandbox: PythonSandbox) -> None:
    source = (
        "import sys\n"
        "def grade(sample, item):\n"
        "    ends = ('/evals', '/python_sandbox_child', '/site-packages')\n"
        "    server = [p for p in sys.path if p.rstrip('/').endswith(ends)]\n"
        "    if server:\n"
        "        raise RuntimeError(f'server code on sys.path: {server}')\n"
        "    try:\n"
        "        import jurist\n"
        "    except ImportError:\n"
        "        return 1.0\n"
        "    return 0.0\n"
    )
    result = await grade(sandbox, source)
    assert (result.score, result.error) == (1.0, None)


# ---------------------------------------------------------------- limits


def _live_processes_of(group: int) -> list[int]:
    """Processes (zombies aside) in the given process group or session."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, _ppid, pgrp, session = stat.rsplit(")", 1)[1].split()[:4]
        if state != "Z" and group in (int(pgrp), int(session)):
            found.append(int(entry))
    return found


@pytest.fixture
def started_groups(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The process group (= pid, start_new_session) of every sandbox child started in the test."""
    groups: list[int] = []
    real = asyncio.create_subprocess_exec

    async def spy(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        assert kwargs["start_new_session"] is True and kwargs["env"] == {}
        proc = await real(*args, **kwargs)
        groups.append(proc.pid)
        return proc

    monkeypatch.setattr(python_grader.asyncio, "create_subprocess_exec", spy)
    yield groups


@pytest.mark.parametrize("namespaces", [True, False], ids=["namespaces", "no-namespaces"])
async def test_an_endless_loop_times_out_and_its_processes_are_gone(
    started_groups: list[int], namespaces: bool
) -> None:
    sandbox = PythonSandbox(SandboxLimits(timeout_seconds=1, cpu_seconds=10), namespaces=namespaces)
    started = time.monotonic()
    result = await grade(sandbox, "def grade(sample, item):\n    while True:\n        pass\n")
    assert result.score is None and result.error is not None
    assert result.error_kind == "timeout", result.error
    assert time.monotonic() - started < 5
    [group] = started_groups
    for _ in range(40):  # a killed process may take a moment to be reaped
        if not _live_processes_of(group):
            break
        await asyncio.sleep(0.05)
    assert _live_processes_of(group) == []


async def test_the_cpu_time_limit_stops_a_busy_grader() -> None:
    sandbox = PythonSandbox(SandboxLimits(timeout_seconds=20, cpu_seconds=1))
    result = await grade(sandbox, "def grade(sample, item):\n    while True:\n        pass\n")
    assert result.error is not None and result.error.startswith("timeout: "), result.error
    assert "CPU" in result.error
    assert result.duration < 10


async def test_allocating_2_gb_is_a_memory_error(sandbox: PythonSandbox) -> None:
    source = "def grade(sample, item):\n    block = bytearray(2 * 1024**3)\n    return len(block)\n"
    result = await grade(sandbox, source)
    assert result.score is None
    assert result.error_kind == "memory", result.error


# ---------------------------------------------------------------- isolation


async def test_the_grader_cannot_reach_a_listening_local_socket(sandbox: PythonSandbox) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        source = (
            "import socket\n"
            "def grade(sample, item):\n"
            "    with socket.create_connection(('127.0.0.1', item['port']), timeout=2) as conn:\n"
            "        conn.sendall(b'leak')\n"
            "    return 1.0\n"
        )
        result = await grade(sandbox, source, item={"port": port})
        assert result.score is None
        assert result.error_kind == "runtime_error", result.error
        readable, _, _ = select.select([listener], [], [], 0.2)
        assert readable == [], "a connection from the grader reached the listener"


async def test_the_grader_cannot_write_a_file(sandbox: PythonSandbox) -> None:
    target = Path("/tmp") / f"jurist-grader-test-{uuid.uuid4().hex}"
    source = (
        "import os\n"
        "def grade(sample, item):\n"
        "    with open(item['path'], 'w') as f:\n"
        "        f.write('pwned')\n"
        "    return 1.0\n"
    )
    try:
        result = await grade(sandbox, source, item={"path": str(target)})
        assert result.score is None
        assert result.error_kind == "runtime_error", result.error
        assert not target.exists()
        low_level = (
            "import os\n"
            "def grade(sample, item):\n"
            "    os.close(os.open(item['path'], os.O_CREAT | os.O_WRONLY, 0o644))\n"
            "    return 1.0\n"
        )
        result = await grade(sandbox, low_level, item={"path": str(target)})
        assert result.error_kind == "runtime_error", result.error
        assert not target.exists()
    finally:
        target.unlink(missing_ok=True)


async def test_the_grader_sees_no_server_environment(
    sandbox: PythonSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYGRADER_TEST_CANARY", "canary-secret-value")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-secret-value")
    source = (
        "import os\n"
        "def grade(sample, item):\n"
        "    seen = dict(os.environ)\n"
        "    try:\n"
        "        with open('/proc/self/environ', 'rb') as f:\n"
        "            seen['/proc/self/environ'] = f.read().decode(errors='replace')\n"
        "    except OSError:\n"
        "        pass\n"
        "    if any('canary-secret-value' in f'{k}={v}' for k, v in seen.items()):\n"
        "        raise RuntimeError(f'leaked: {seen}')\n"
        "    return float(len(os.environ))\n"
    )
    result = await grade(sandbox, source)
    assert (result.score, result.error) == (0.0, None)
    assert "empty_env" in result.protections


@pytest.mark.parametrize("namespaces", [True, False], ids=["namespaces", "no-namespaces"])
async def test_with_a_pid_namespace_the_server_process_is_out_of_sight(
    monkeypatch: pytest.MonkeyPatch, namespaces: bool
) -> None:
    """Requiring the PID namespace: either it is there and the server's /proc is out of sight, or the grade
    is refused as a server fault before the grader runs. Either way the server's environment never leaks."""
    monkeypatch.setenv("PYGRADER_TEST_CANARY", "canary-secret-value")
    source = (
        "import os\n"
        "def grade(sample, item):\n"
        "    try:\n"
        "        with open(f\"/proc/{item['pid']}/environ\", 'rb') as f:\n"
        "            data = f.read()\n"
        "    except OSError:\n"
        "        return 0.0\n"
        "    return 1.0 if b'canary-secret-value' in data else 0.5\n"
    )
    required = (*BASELINE_PROTECTIONS, "pid_namespace")
    strict = PythonSandbox(LIMITS, required=required, namespaces=namespaces)
    result = await grade(strict, source, item={"pid": os.getpid()})
    if "pid_namespace" in result.protections:
        assert (result.score, result.error) == (0.0, None)
    else:  # a machine without user or PID namespaces
        assert result.score is None and result.server_fault and result.error_kind == "sandbox_unavailable"


@pytest.mark.parametrize(
    "body",
    [
        "import subprocess\n    subprocess.run(['true'])",
        "import os\n    os.system('true')",
        "import os\n    os.execv('/bin/true', ['true'])",
        "import os\n    os.fork()",
        "import ctypes\n    ctypes.CDLL(None).system(b'true')",
    ],
    ids=["subprocess", "os.system", "os.exec", "os.fork", "ctypes"],
)
async def test_the_grader_cannot_start_processes(sandbox: PythonSandbox, body: str) -> None:
    result = await grade(sandbox, f"def grade(sample, item):\n    {body}\n    return 1.0\n")
    assert result.score is None
    assert result.error_kind == "runtime_error", result.error


async def test_the_grader_cannot_signal_the_server(sandbox: PythonSandbox) -> None:
    source = "import os, signal\ndef grade(sample, item):\n    os.kill(item['pid'], signal.SIGTERM)\n    return 1.0\n"
    result = await grade(sandbox, source, item={"pid": os.getpid()})
    assert result.error_kind == "runtime_error", result.error


@pytest.mark.parametrize(
    "attack",
    [
        # the module-level tables of every module of the child and the builtins the hook might have
        # looked up (a score of 1 when the child's modules are not where the attack looks)
        "import socket\n"
        "    child = [m for n, m in list(sys.modules.items()) if n.startswith('python_sandbox_child.')]\n"
        "    if not any(hasattr(m, 'REFUSED_EVENTS') for m in child):\n"
        "        return 1.0\n"
        "    for module in [sys.modules['__main__'], *child]:\n"
        "        for name in list(vars(module)):\n"
        "            if name.isupper():\n"
        "                setattr(module, name, ())\n"
        "    builtins.frozenset = lambda *a: ()\n"
        "    socket.socket()",
        # a module name whose startswith lies
        "class S(str):\n"
        "        def startswith(self, *a):\n"
        "            return False\n"
        "    __import__(S('_posixsubprocess'))",
        # the hook's code, replaced through the function object
        "hook = sys.modules['python_sandbox_child.audit'].make_audit_hook()\n"
        "    hook.__code__ = (lambda event, args: None).__code__",
    ],
    ids=["tables-and-builtins", "str-subclass", "replace-code"],
)
async def test_the_audit_hook_cannot_be_switched_off(sandbox: PythonSandbox, attack: str) -> None:
    source = f"import sys, builtins\ndef grade(sample, item):\n    {attack}\n    return 1.0\n"
    result = await grade(sandbox, source)
    assert result.score is None
    assert result.error is not None and "the python grader sandbox refuses" in result.error, result.error


async def test_grade_refuses_invalid_source_without_starting_a_process(
    started_groups: list[int], default_sandbox: PythonSandbox
) -> None:
    result = await grade(default_sandbox, "def grade(sample, item)\n    return 1\n")
    assert result.score is None
    assert result.error is not None and result.error.startswith("invalid_source: ")
    assert "line 1" in result.error
    assert started_groups == []
