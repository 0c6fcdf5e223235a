"""llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``) as a process of its own, and
the recipe for it that docs/operations/serving-a-judge.md documents: its command line and its TOML."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from tests.support.live import free_socket

DOC = Path(__file__).parents[2] / "docs" / "operations" / "serving-a-judge.md"
SECTION = "## llama.cpp through llama-cpp-python's server (tested)"
ACCESS_LINE = re.compile(rb'"POST /v1/chat/completions HTTP/1\.1" 200')


@dataclass(frozen=True)
class Recipe:
    """The documented server command (its arguments after ``python -m llama_cpp.server``) and TOML."""

    args: list[str]
    toml: str

    def with_args(self, **values: str) -> list[str]:
        """The arguments with the value of each ``--name`` in ``values`` replaced (each must be there)."""
        args = list(self.args)
        for name, value in values.items():
            flag = f"--{name}"
            assert flag in args, f"the documented command has no {flag}: {args}"
            args[args.index(flag) + 1] = value
        return args

    def toml_with(self, *changes: tuple[str, str]) -> str:
        """The TOML with each ``(old, new)`` line fragment replaced; each must occur exactly once."""
        text = self.toml
        for old, new in changes:
            assert text.count(old) == 1, f"the documented TOML does not have {old!r} exactly once"
            text = text.replace(old, new)
        return text


def documented_recipe(doc: Path = DOC) -> Recipe:
    """The first ``python -m llama_cpp.server`` command and the first TOML block of the tested section."""
    text = doc.read_text()
    assert SECTION in text, f"{doc} has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, flags=re.DOTALL)
    prefix = ["python", "-m", "llama_cpp.server"]
    commands = [
        shlex.split(body.replace("\\\n", " "))
        for lang, body in blocks
        if lang == "bash" and "llama_cpp.server" in body
    ]
    tomls = [body for lang, body in blocks if lang == "toml"]
    assert commands and tomls, "the tested section needs a llama_cpp.server command and a TOML block"
    assert commands[0][:3] == prefix, commands[0]
    return Recipe(args=commands[0][3:], toml=tomls[0])


def toml_blocks(doc: Path = DOC) -> list[str]:
    """Every TOML block of the page."""
    return re.findall(r"```toml\n(.*?)```", doc.read_text(), flags=re.DOTALL)


# ``python -m llama_cpp.server`` with llama.cpp's extra buffer types (repacked weights) off: on a CPU with
# AMX tiles they select an AMX kernel that crashes on Q4_K_M weights (ggml-org/llama.cpp#20824;
# ``jurist.backends.cpu_features``), and this server has no option to turn them off. Off everywhere, so the
# test runs alike on every CPU; the documented command is unchanged otherwise (its arguments follow).
WITHOUT_REPACKING = """
import runpy
import sys

import llama_cpp.llama_cpp as native

default_params = native.llama_model_default_params


def without_repacking():
    params = default_params()
    params.use_extra_bufts = False
    return params


native.llama_model_default_params = without_repacking
sys.argv = ["llama_cpp.server", *sys.argv[1:]]
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


def free_port() -> int:
    sock = free_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


class LlamaCppServer:
    """``python -m llama_cpp.server ARGS`` listening on 127.0.0.1:``port``, its output in ``log``; ready
    once ``/v1/models`` answers (at most ``start_timeout`` seconds), killed on exit."""

    def __init__(self, args: list[str], port: int, log: Path, start_timeout: float = 120) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self.log = log
        self._start_timeout = start_timeout
        self._out: IO[bytes] = log.open("wb")
        command = [
            sys.executable,
            "-c",
            WITHOUT_REPACKING,
            *args,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self._proc = subprocess.Popen(command, stdout=self._out, stderr=subprocess.STDOUT)

    def __enter__(self) -> LlamaCppServer:
        deadline = time.monotonic() + self._start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self.__exit__()
                raise RuntimeError(f"llama_cpp.server exited ({self._proc.returncode}): {self.tail()}")
            try:
                self.models()
                return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"llama_cpp.server did not answer within {self._start_timeout} s: {self.tail()}")

    def __exit__(self, *exc: object) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._out.close()

    def models(self) -> list[str]:
        """The ids ``GET /v1/models`` lists."""
        with urllib.request.urlopen(self.base_url + "/models", timeout=2) as resp:
            return [m["id"] for m in orjson.loads(resp.read())["data"]]

    def chat_requests(self) -> int:
        """Chat completions the server answered with 200 so far (from its access log)."""
        return len(ACCESS_LINE.findall(self.log.read_bytes()))

    def alive(self) -> bool:
        return self._proc.poll() is None

    def tail(self, chars: int = 2000) -> str:
        return self.log.read_bytes()[-chars:].decode("utf-8", "replace")
