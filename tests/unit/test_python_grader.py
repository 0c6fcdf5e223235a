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

from jurist.errors import InvalidRequest
from jurist.service.evals import python_grader
from jurist.service.evals.python_grader import (
    ALL_PROTECTIONS,
    BASELINE_PROTECTIONS,
    MAX_SOURCE_BYTES,
    STRICT_PROTECTIONS,
    PythonSandbox,
    SandboxLimits,
    SandboxResult,
    validate_source,
)
from jurist.service.evals.sandbox import SandboxedPython

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX only")

LIMITS = SandboxLimits(timeout_seconds=5, cpu_seconds=5)
SAMPLE = {
    "output_text": "Paris",
    "choices": [],
    "output_json": None,
    "output_tools": [],
    "output_audio": None,
}
ITEM = {"reference": "Paris", "weight": 2}


async def grade(sandbox: PythonSandbox, source: str, sample: Any = None, item: Any = None) -> SandboxResult:
    """One grade, never longer than the test allows (the sandbox's own timeout is far shorter)."""
    return await asyncio.wait_for(
        sandbox.grade(source, SAMPLE if sample is None else sample, ITEM if item is None else item), 30
    )


@pytest.fixture(params=[True, False], ids=["namespaces", "no-namespaces"])
def sandbox(request: pytest.FixtureRequest) -> PythonSandbox:
    return PythonSandbox(LIMITS, namespaces=request.param)


@pytest.fixture
def default_sandbox() -> PythonSandbox:
    return PythonSandbox(LIMITS)


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


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
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


async def test_with_a_pid_namespace_the_server_process_is_out_of_sight(
    default_sandbox: PythonSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    result = await grade(default_sandbox, source, item={"pid": os.getpid()})
    if "pid_namespace" not in result.protections:
        pytest.skip("no PID namespace here: the grader may read what the server's uid can (documented)")
    assert (result.score, result.error) == (0.0, None)


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


# ---------------------------------------------------------------- protections


def test_protections_are_reported() -> None:
    sandbox = PythonSandbox(LIMITS)
    active = sandbox.protections()
    assert set(BASELINE_PROTECTIONS) <= set(active)
    assert set(active) <= set(ALL_PROTECTIONS)
    assert set(sandbox.unavailable_protections()).isdisjoint(active)
    without = PythonSandbox(LIMITS, namespaces=False)
    assert "network_namespace" not in without.protections()
    assert without.unavailable_protections()["network_namespace"] == "disabled by configuration"


async def test_a_missing_required_protection_refuses_to_run_the_grader() -> None:
    sandbox = PythonSandbox(LIMITS, required=STRICT_PROTECTIONS, namespaces=False)
    target = Path("/tmp") / f"jurist-grader-test-{uuid.uuid4().hex}"
    source = (
        "import os\n"
        "def grade(sample, item):\n"
        "    os.close(os.open(item['path'], os.O_CREAT | os.O_WRONLY))\n"
        "    return 1.0\n"
    )
    result = await grade(sandbox, source, item={"path": str(target)})
    assert result.score is None
    assert result.error is not None and result.error.startswith("sandbox_unavailable: ")
    assert "network_namespace" in result.error
    assert result.server_fault
    assert not target.exists()


async def test_the_graders_see_a_server_fault_as_a_python_grader_server_error() -> None:
    sandboxed = SandboxedPython(timeout_seconds=5, memory_mb=512)
    own = await asyncio.wait_for(sandboxed.score("def grade(sample, item):\n    return 1 / 0\n", {}, {}), 30)
    assert own == (None, "runtime_error: ZeroDivisionError: division by zero")
    sandboxed._sandbox = PythonSandbox(LIMITS, required=STRICT_PROTECTIONS, namespaces=False)
    score, why = await asyncio.wait_for(
        sandboxed.score("def grade(sample, item):\n    return 1.0\n", {}, {}), 30
    )
    assert score is None and why is not None
    assert why.startswith("python_grader_server_error: sandbox_unavailable: required protections"), why


def test_unknown_required_protections_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no_such_thing"):
        PythonSandbox(required=["no_such_thing"])


# ---------------------------------------------------------------- validate_source


def test_validate_source_never_executes_the_code(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    source = (
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "import os\n"
        f"os.system('touch {marker}')\n"
        "def grade(sample, item):\n"
        f"    open({str(marker)!r}, 'w').write('ran')\n"
        "    return 1.0\n"
    )
    validate_source(source)
    assert not marker.exists()


@pytest.mark.parametrize(
    "signature",
    ["sample, item", "s, i", "sample, item, extra=None", "sample, /, item", "*args", "sample, *rest"],
)
def test_validate_source_accepts_two_positional_parameters(signature: str) -> None:
    validate_source(f"import math\n\ndef grade({signature}):\n    return 1.0\n")


def test_validate_source_without_grade_is_invalid() -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_source("def score(sample, item):\n    return 1.0\n")
    assert caught.value.param == "grader.source"
    assert "grade(sample, item)" in caught.value.message


@pytest.mark.parametrize(
    "source",
    [
        "def grade(sample):\n    return 1.0\n",
        "def grade(sample, item, other):\n    return 1.0\n",
        "def grade(sample, item, *, key):\n    return 1.0\n",
        "async def grade(sample, item):\n    return 1.0\n",
        "if True:\n    def grade(sample, item):\n        return 1.0\n",
        "grade = lambda sample, item: 1.0\n",
    ],
    ids=["one-arg", "three-args", "required-keyword", "async", "not-top-level", "lambda"],
)
def test_validate_source_needs_a_top_level_two_argument_def(source: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_source(source, param="testing_criteria[0].source")
    assert caught.value.param == "testing_criteria[0].source"


def test_validate_source_names_the_line_of_a_syntax_error() -> None:
    source = "def grade(sample, item):\n    x = 1\n    return (x +\n\nprint('never')\n"
    with pytest.raises(InvalidRequest) as caught:
        validate_source(source)
    assert "line 3" in caught.value.message
    assert caught.value.param == "grader.source"


def test_validate_source_catches_compile_time_errors_too() -> None:
    with pytest.raises(InvalidRequest, match="line 3"):  # found by the compiler, not the parser
        validate_source("def grade(sample, item):\n    return 1\nnonlocal x\n")


def test_validate_source_rejects_more_than_256_kb() -> None:
    body = "def grade(sample, item):\n    return 1.0\n"
    padding = "#" * (MAX_SOURCE_BYTES - len(body) - 1) + "\n"
    validate_source(body + padding)  # exactly at the limit
    with pytest.raises(InvalidRequest, match="256 kB"):
        validate_source(body + padding + "#")


async def test_grade_refuses_invalid_source_without_starting_a_process(
    started_groups: list[int], default_sandbox: PythonSandbox
) -> None:
    result = await grade(default_sandbox, "def grade(sample, item)\n    return 1\n")
    assert result.score is None
    assert result.error is not None and result.error.startswith("invalid_source: ")
    assert "line 1" in result.error
    assert started_groups == []
