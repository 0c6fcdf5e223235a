"""Running a page's examples: its blocks in order in one working directory of their own (a block that
writes a file serves the next ones), each within its time limit, against the live server
(``example_server``), and judging each outcome: it must succeed (or fail, when marked ``fails``) and print
the output the page shows.

The working directory starts with ``tests/data``, a link to the repository's test data (examples cite
``tests/data/pandalm/…`` and ``tests/data/evals/qa.yaml`` as paths in a checkout). Shell blocks run in
bash with ``set -eo pipefail``, and ``curl`` there is ``curl --fail-with-body --show-error``, so a
command that fails, or a request answered with an HTTP error, fails the block."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.docs.example_blocks import ROOT, Block, Page, output_matches, script
from tests.docs.example_server import DocsServer, Servers

DRIVER = Path(__file__).with_name("python_session.py")
SHELL = r"""__jb_base=" $(compgen -v | tr '\n' ' ') "
__jb_save() {
  for __jb_v in $(compgen -v); do
    case "$__jb_base" in *" $__jb_v "*) continue ;; esac
    case "$__jb_v" in __jb_* | BASH_* | FUNCNAME | PIPESTATUS | _) continue ;; esac
    declare -p "$__jb_v" 2>/dev/null || true
  done > "$__JB_STATE_OUT"
  declare -f >> "$__JB_STATE_OUT"
  printf 'cd %q\n' "$PWD" >> "$__JB_STATE_OUT"
}
trap __jb_save EXIT
curl() { command curl --fail-with-body --show-error "$@"; }
if [ -n "$__JB_STATE_IN" ]; then source "$__JB_STATE_IN"; fi
set -eo pipefail
source "$__JB_BLOCK"
"""


@dataclass
class Outcome:
    """What running one block gave, and what is wrong with it (nothing: it passed)."""

    block: Block
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    server_log: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> str:
        parts = [f"{self.block.id} ({self.block.lang}, {self.seconds:.1f} s): {'; '.join(self.problems)}"]
        parts += [f"--- the block ---\n{self.block.text}"]
        parts += [f"--- {name} ---\n{_tail(text)}" for name, text in (("stdout", self.stdout),
                  ("stderr", self.stderr), ("server log", self.server_log)) if text.strip()]  # fmt: skip
        return "\n".join(parts)


def _tail(text: str, limit: int = 3000) -> str:
    return text if len(text) <= limit else f"…{text[-limit:]}"


class PythonSession:
    """A ``python_session.py`` process: one namespace for a chain of blocks."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self._proc = subprocess.Popen([sys.executable, "-P", str(DRIVER)], cwd=cwd, env=env,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip

    def run(
        self, code: str, name: str, out: Path, err: Path, env: dict[str, str], timeout: float
    ) -> bool | None:
        """Whether the block ran without an exception; None when it timed out or the session died."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        request = {"code": code, "name": name, "out": str(out), "err": str(err), "env": env}
        try:
            self._proc.stdin.write((json.dumps(request) + "\n").encode())
            self._proc.stdin.flush()
        except BrokenPipeError:
            return None
        answer = b""
        deadline = time.monotonic() + timeout
        while not answer.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._proc.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self._proc.stdout.fileno(), 4096)
            if not chunk:
                return None
            answer += chunk
        return bool(json.loads(answer)["ok"])

    @property
    def alive(self) -> bool:
        return os.waitid(os.P_PID, self._proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None

    def close(self) -> None:
        _end_group(self._proc)
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None:
                pipe.close()


def _exited(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait up to ``timeout`` for ``proc`` to end, without reaping it: its id, which is its process
    group's, stays ours until ``_end_group``."""
    deadline = time.monotonic() + timeout
    while os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _end_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process this runner started (not yet reaped), and whatever it started in its session (its
    process group, whose id is the process's), then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class PageRun:
    """One page: its working directory, its Python session and shell state, and its blocks' outcomes."""

    def __init__(self, page: Page, home: Path, servers: Servers) -> None:
        self.page = page
        self.workdir = home / "work"
        self._files = home / "runs"
        for folder in (self.workdir / "tests", self._files):
            folder.mkdir(parents=True, exist_ok=True)
        (self.workdir / "tests" / "data").symlink_to(ROOT / "tests" / "data")
        self._servers = servers
        self._python: PythonSession | None = None
        self._shell_state: Path | None = None
        self._done: dict[int, Outcome] = {}

    def outcome(self, block: Block) -> Outcome:
        """Run the page up to ``block`` (the blocks above it that have not run yet first), and its outcome."""
        for step in self.page.blocks:
            if step.line > block.line:
                break
            if step.line in self._done or not (step.runs or step.file is not None):
                continue
            if self.page.error_at(step.line) is None:
                self._done[step.line] = self._write(step) if step.file is not None else self._run(step)
        return self._done[block.line]

    def failed_before(self, block: Block) -> list[str]:
        return [o.block.id for line, o in sorted(self._done.items()) if line < block.line and not o.ok]

    def _write(self, block: Block) -> Outcome:
        assert block.file is not None
        target = self.workdir / block.file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text)
        return Outcome(block)

    def _run(self, block: Block) -> Outcome:
        server = self._servers.for_block(block.embedded)
        env = {**server.block_env(), **block.env}
        code = server.localise(script(block))
        out, err = (self._files / f"{block.line}.{name}" for name in ("out", "err"))
        log_from, started = server.log_size(), time.monotonic()
        if block.kind == "python":
            ok = self._run_python(block, code, env, out, err)
        else:
            ok = self._run_shell(block, code, env, out, err)
        outcome = Outcome(block, seconds=time.monotonic() - started)
        outcome.stdout, outcome.stderr = (_read(p) for p in (out, err))
        outcome.server_log = server.log_since(log_from)
        outcome.problems = _problems(block, ok, outcome, server)
        return outcome

    def _run_python(self, block: Block, code: str, env: dict[str, str], out: Path, err: Path) -> bool | None:
        if not block.continues or self._python is None or not self._python.alive:
            self.close_python()
            self._python = PythonSession(self.workdir, env)
        ok = self._python.run(code, block.id, out, err, env, block.timeout)
        if ok is None:
            self.close_python()
        return ok

    def _run_shell(self, block: Block, code: str, env: dict[str, str], out: Path, err: Path) -> bool | None:
        body = self._files / f"{block.line}.sh"
        body.write_text(code)
        state = self._files / f"{block.line}.state"
        given = self._shell_state if block.continues and self._shell_state else None
        env |= {"__JB_BLOCK": str(body), "__JB_STATE_OUT": str(state), "__JB_STATE_IN": str(given or "")}
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen(["bash", "-c", SHELL], cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=stdout, stderr=stderr, start_new_session=True)  # fmt: skip
            finished = _exited(proc, block.timeout)
            _end_group(proc)  # and anything the block left running
            code_ = proc.returncode if finished else None
        self._shell_state = state if state.exists() else None
        if code_ not in (None, 0):
            with err.open("a") as fh:
                fh.write(f"\n[exit status {code_}]\n")
        return None if code_ is None else code_ == 0

    def close_python(self) -> None:
        if self._python is not None:
            self._python.close()
            self._python = None


def _read(path: Path) -> str:
    return path.read_bytes().decode(errors="replace") if path.exists() else ""


def _problems(block: Block, ok: bool | None, outcome: Outcome, server: DocsServer) -> list[str]:
    if ok is None:
        return [f"timed out after {block.timeout:g} s (or its Python session died)"]
    problems = []
    if block.fails and ok:
        problems.append("it succeeded, but is marked `fails`")
    elif not block.fails and not ok:
        problems.append("it failed" + (": an exception" if block.kind == "python" else ": non-zero exit"))
    out, err = server.as_documented(outcome.stdout), server.as_documented(outcome.stderr)
    for line, expected in block.expected:
        if not any(output_matches(expected, real) for real in (out, err, f"{out}\n{err}")):
            problems.append(f"its output differs from the output shown at {block.path}:{line}:\n{expected}")
    return problems


class DocRuns:
    """Every page's run, over one set of servers."""

    def __init__(self, home: Path, servers: Servers) -> None:
        self._home = home
        self._servers = servers
        self._pages: dict[str, PageRun] = {}

    def page(self, page: Page) -> PageRun:
        """The page's run; the Python sessions of the others end (pages run one after another)."""
        for path, run in self._pages.items():
            if path != page.path:
                run.close_python()
        if page.path not in self._pages:
            home = self._home / page.path.replace("/", "-")
            self._pages[page.path] = PageRun(page, home, self._servers)
        return self._pages[page.path]

    def close(self) -> None:
        for run in self._pages.values():
            run.close_python()
