#!/usr/bin/env python3
"""One Python session for the documentation's examples (run by ``tests/docs/example_runner.py``): the
blocks of a ``continue`` chain run one after another in the same namespace, as in one interpreter.

Requests, one JSON line each on stdin: ``{"code", "name", "out", "err", "env"}``; the block runs as the
script ``name`` (its tracebacks name the docs' file and line) with ``os.environ`` set to ``env``, its
stdout and stderr (file descriptors 1 and 2, so subprocesses' too) written to the files ``out`` and
``err``. Each answer is one JSON line ``{"ok": bool}`` on the original stdout. Standard library only.
"""

from __future__ import annotations

import json
import linecache
import os
import sys
import traceback
from typing import Any


def run(request: dict[str, Any], namespace: dict[str, Any], null: int) -> bool:
    code, name = request["code"], request["name"]
    linecache.cache[name] = (len(code), None, code.splitlines(True), name)
    os.environ.clear()
    os.environ.update(request["env"])
    with open(request["out"], "wb") as out, open(request["err"], "wb") as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            exec(compile(code, name, "exec"), namespace)
            ok = True
        except SystemExit as exc:
            ok = exc.code in (None, 0)
            if not ok:
                print(f"SystemExit: {exc.code}", file=sys.stderr)
        except BaseException as exc:
            traceback.print_exception(
                type(exc), exc, exc.__traceback__.tb_next if exc.__traceback__ else None
            )
            ok = False
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(null, 1)
            os.dup2(null, 2)
    return ok


def main() -> None:
    reply = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    sys.path.insert(0, os.getcwd())  # as for a script in the working directory: its modules import
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    for line in sys.stdin:
        ok = run(json.loads(line), namespace, null)
        reply.write(json.dumps({"ok": ok}) + "\n")
        reply.flush()


if __name__ == "__main__":
    main()
