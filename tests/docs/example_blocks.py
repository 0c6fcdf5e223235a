"""The code examples of Jurist's documentation: README.md and docs/**/*.md, their fenced blocks with the
markers that say how each is run, and how shown output is compared with real output.

Executed languages: ``python``/``py`` (a Python session with the openai SDK), ``bash``/``sh``/``shell``/
``curl`` (bash; a leading ``$ `` prompt is stripped) and ``console`` (bash: the ``$ `` lines and their ``\\``
continuations are the commands, the other lines the output shown, compared as an ``output`` block is).
Other fences (yaml, toml, json, jsonl, text, none, …) are never run.

A marker is an HTML comment on the line right before a fence; several may sit on consecutive lines:

- ``<!-- example: skip: <reason> -->``: the block cannot run; the reason is required, and such blocks are
  listed with their reasons at the end of the test output.
- ``<!-- example: output -->``: this block is the expected output of the nearest executed block above it:
  compared after normalising whitespace, with ``…`` or ``...`` matching anything (ids, timestamps).
  Compared with stdout, stderr, or both (stdout then stderr); a block's output may be shown once.
- ``<!-- example: continue -->``: run in the session of the previous block of the same kind on the page:
  Python: the same interpreter (its names, imports and clients); shell: its variables, functions and
  working directory.
- ``<!-- example: file: <name> -->``: write the block's text to ``<name>`` in the page's working
  directory instead of running it (any language: an input file, a config, a module).
- ``<!-- example: env: NAME=value -->``: set an environment variable for this block (may repeat).
- ``<!-- example: embedded -->``: run against a server whose models are the bundled embedded model
  (Gemma 3 270M, slow) instead of the stub judges.
- ``<!-- example: timeout: <seconds> -->``: this block's time limit (default 120 s).
- ``<!-- example: fails -->``: the block must fail (a non-zero exit, an exception, an HTTP error for curl).

A hidden block runs (or is written, with ``file``) but is not shown: a setup the page's readers need not
see, such as making the batch whose id ``$BATCH`` a shown block uses (with ``continue``). Its fence
follows ``<!-- example: hidden`` on the next line and ``-->`` closes the comment right after the fence;
markers go on the lines before ``<!-- example: hidden``::

    <!-- example: hidden
    ```bash
    BATCH=$(python make_batch.py)
    ```
    -->
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KINDS = {"python": "python", "py": "python", "bash": "shell", "sh": "shell", "shell": "shell"}
KINDS |= {"curl": "shell", "console": "console"}
DEFAULT_TIMEOUT = 120.0
WILDCARD = re.compile(r"…|\.\.\.")

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*example:\s*(?P<body>.*?)\s*-->\s*$")
_HIDDEN = re.compile(r"^\s*<!--\s*example:\s*hidden\s*$")
_MARKER_LIKE = re.compile(r"^\s*<!--\s*example\b")
_FLAGS = {"output", "continue", "embedded", "fails"}
_VALUED = {"skip", "file", "env", "timeout"}
_ENV = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")


@dataclass
class Block:
    """One fenced block: where it is, its language and text, and what its markers say."""

    path: str  # relative to the repository, e.g. "docs/batches.md"
    line: int  # the opening fence's line (1-based)
    lang: str  # the info string's first word, lower case ("" when none)
    text: str  # the block's content, the fence's indentation removed
    skip: str | None = None
    output: bool = False
    continues: bool = False
    file: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    embedded: bool = False
    timeout: float = DEFAULT_TIMEOUT
    fails: bool = False
    hidden: bool = False  # inside an HTML comment: runs, but readers never see it
    expected: list[tuple[int, str]] = field(default_factory=list)  # (line, text) of output shown

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def kind(self) -> str | None:
        """``python``, ``shell`` or ``console`` for an executed language, else None."""
        return KINDS.get(self.lang)

    @property
    def session(self) -> str | None:
        """Blocks of one session kind can continue each other (console and shell share bash)."""
        return {"console": "shell"}.get(self.kind or "", self.kind)

    @property
    def runs(self) -> bool:
        """Executed by the tests: an executed language, neither skipped, written to a file nor output."""
        return self.kind is not None and self.skip is None and self.file is None and not self.output


@dataclass
class Page:
    """A markdown file's blocks in order, and its markup errors as (line, message)."""

    path: str
    blocks: list[Block]
    errors: list[tuple[int, str]]

    def error_at(self, line: int) -> str | None:
        return next((message for at, message in self.errors if at == line), None)


def doc_files(root: Path = ROOT) -> list[Path]:
    """README.md and every markdown file under docs/, in a stable order."""
    found = [root / "README.md"] if (root / "README.md").exists() else []
    return found + sorted((root / "docs").rglob("*.md"))


def load_pages(root: Path = ROOT) -> list[Page]:
    return [
        parse_page(p.read_text(encoding="utf-8"), p.relative_to(root).as_posix()) for p in doc_files(root)
    ]


def parse_page(markdown: str, path: str) -> Page:
    """The blocks of one markdown text, their markers applied and checked."""
    lines = markdown.splitlines()
    blocks: list[Block] = []
    errors: list[tuple[int, str]] = []
    markers: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        text = lines[i]
        if found := _MARKER.match(text):
            markers.append((i + 1, found["body"]))
            i += 1
            continue
        hidden = _HIDDEN.match(text) is not None
        if hidden and i + 1 < len(lines) and _FENCE.match(lines[i + 1]):
            i += 1
            text = lines[i]
        elif hidden:
            errors.append((i + 1, "a fence must follow `<!-- example: hidden` on the next line"))
        elif _MARKER_LIKE.match(text):
            errors.append((i + 1, f"malformed example marker: {text.strip()!r}"))
        fence = _FENCE.match(text)
        if fence is None:
            if markers:
                errors.append((markers[0][0], "an example marker must be on the line right before a fence"))
                markers = []
            i += 1
            continue
        block, i = _read_block(lines, i, fence, path)
        problems = _apply_markers(block, markers)
        markers = []
        if hidden:
            block.hidden = True
            problems += _hidden_problems(block, lines[i] if i < len(lines) else "")
            i += 1
        blocks.append(block)
        errors += [(block.line, p) for p in problems]
    if markers:
        errors.append((markers[0][0], "an example marker must be on the line right before a fence"))
    errors += _link_blocks(blocks)
    return Page(path, blocks, sorted(errors))


def _hidden_problems(block: Block, after: str) -> list[str]:
    problems = (
        [] if after.strip() == "-->" else ["a hidden block's comment must close (`-->`) right after it"]
    )
    if block.output or block.skip is not None or not (block.runs or block.file is not None):
        problems.append("a hidden block must run or be written to a file")
    return problems


def _read_block(lines: list[str], start: int, fence: re.Match[str], path: str) -> tuple[Block, int]:
    """The block opening at ``start``; the index after its closing fence (or the end of the text)."""
    indent, marks = len(fence["indent"]), fence["fence"]
    closing = re.compile(rf"^\s*{re.escape(marks[0])}{{{len(marks)},}}\s*$")
    body: list[str] = []
    i = start + 1
    while i < len(lines) and not closing.match(lines[i]):
        line = lines[i]
        strip = min(indent, len(line) - len(line.lstrip(" ")))
        body.append(line[strip:])
        i += 1
    info = fence["info"].strip().split()
    lang = info[0].strip("{}.").lower() if info else ""
    return Block(path, start + 1, lang, "\n".join(body) + ("\n" if body else "")), i + 1


def _apply_markers(block: Block, markers: list[tuple[int, str]]) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for _, body in markers:
        name, _, value = (part.strip() for part in body.partition(":"))
        if name not in _FLAGS | _VALUED:
            problems.append(f"unknown example marker {name!r}")
            continue
        if name in seen and name != "env":
            problems.append(f"example marker {name!r} given twice")
        seen.add(name)
        if name in _FLAGS:
            if value:
                problems.append(f"example marker {name!r} takes no value (got {value!r})")
            else:
                setattr(block, "continues" if name == "continue" else name, True)
        elif not value:
            problems.append(f"example marker {name!r} needs a value (a skip must say why)")
        else:
            problems += _valued(block, name, value)
    return problems + _consistency(block, seen)


def _valued(block: Block, name: str, value: str) -> list[str]:
    if name == "skip":
        block.skip = value
    elif name == "file":
        if value.startswith("/") or ".." in Path(value).parts:
            return [f"file marker must name a file inside the working directory, not {value!r}"]
        block.file = value
    elif name == "env":
        pair = _ENV.match(value)
        if pair is None:
            return [f"env marker must be NAME=value, not {value!r}"]
        block.env[pair["name"]] = pair["value"]
    else:
        try:
            block.timeout = float(value)
        except ValueError:
            block.timeout = 0
        if not 0 < block.timeout <= 3600:
            return [f"timeout marker must be a number of seconds in (0, 3600], not {value!r}"]
    return []


def _consistency(block: Block, seen: set[str]) -> list[str]:
    problems = []
    alone = {"output", "skip", "file"} & seen
    if len(alone) > 1:
        problems.append(f"example markers {' and '.join(sorted(alone))} exclude each other")
    running = seen & {"continue", "env", "embedded", "timeout", "fails"}
    if running and ("output" in seen or "file" in seen):
        problems.append(f"{', '.join(sorted(running))}: only for a block that runs")
    elif block.kind is None and seen & ({"skip"} | running):
        lang = block.lang or "untagged"
        problems.append(f"a {lang} block is never run: only {', '.join(sorted(KINDS))} blocks run")
    return problems


def _link_blocks(blocks: list[Block]) -> list[tuple[int, str]]:
    """Attach each output block to the executed block above it, and check each ``continue`` has a block
    of its kind to continue; console blocks get their own shown output as expected output."""
    errors: list[tuple[int, str]] = []
    last_run: Block | None = None
    last_of: dict[str, Block] = {}
    for block in blocks:
        if block.output:
            if last_run is None:
                errors.append((block.line, "an output block needs an executed block above it"))
            elif last_run.expected:
                errors.append((block.line, f"{last_run.id} already has its output shown"))
            else:
                last_run.expected.append((block.line, block.text))
            continue
        if block.kind is None or block.file is not None:
            continue
        session = block.session or ""
        if block.continues and session not in last_of:
            errors.append((block.line, f"nothing to continue: no {session} block above it on this page"))
        elif block.continues and last_of[session].skip is not None:
            errors.append((block.line, f"continues {last_of[session].id}, which is skipped"))
        last_of[session], last_run = block, block
        if block.kind == "console" and (shown := console_parts(block.text)[1].strip()):
            block.expected.append((block.line, shown))
    return errors


def console_parts(text: str) -> tuple[str, str]:
    """A console block's commands (the ``$ `` lines and their continuations) and the output shown."""
    lines = text.splitlines()
    if not any(line.startswith("$ ") or line == "$" for line in lines):
        return text, ""
    commands: list[str] = []
    shown: list[str] = []
    going_on = False
    for line in lines:
        if line.startswith("$ ") or line == "$" or going_on:
            commands.append(line[2:] if line.startswith("$ ") else line.lstrip("$"))
            going_on = line.endswith("\\")
        else:
            shown.append(line)
    return "\n".join(commands) + "\n", "\n".join(shown) + ("\n" if shown else "")


def script(block: Block) -> str:
    """The text to run: a console block's commands, or the block with ``$ `` prompts stripped."""
    if block.kind == "console":
        return console_parts(block.text)[0]
    if block.kind == "shell":
        return "".join(line[2:] if line.startswith("$ ") else line for line in block.text.splitlines(True))
    return block.text


def normalise(text: str) -> str:
    return " ".join(text.split())


def output_matches(expected: str, actual: str) -> bool:
    """Whether ``actual`` is the output shown: equal after normalising whitespace, each ``…``/``...``
    in the expected text standing for any text (empty included)."""
    parts = [re.escape(normalise(p)) for p in WILDCARD.split(normalise(expected))]
    pattern = r"\s*(?:.*?)\s*".join(parts)
    return re.fullmatch(pattern, normalise(actual), flags=re.DOTALL) is not None


def summary_lines(pages: list[Page]) -> list[str]:
    """The end of the test output: what ran, and each block not run with the reason its markup gives."""
    blocks = [b for page in pages for b in page.blocks]
    not_run = [b for b in blocks if b.kind is not None and b.skip is not None]
    runs, files = sum(b.runs for b in blocks), sum(b.file is not None for b in blocks)
    lines = [
        f"{len(pages)} files: {runs} example blocks run, {files} written as files, {len(not_run)} not run"
    ]
    if not_run:
        lines.append(f"{len(not_run)} example blocks not run:")
        lines += [f"  {b.id} — {b.skip}" for b in not_run]
    return lines
