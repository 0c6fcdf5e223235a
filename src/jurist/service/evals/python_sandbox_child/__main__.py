"""The sandbox child's entry point: ``python -I -S -B <the python_sandbox_child directory>``.

Running a directory puts it first on ``sys.path``. Its modules import each other relatively, as the
package named after the directory, so the directory's parent stands in for it just while they load;
then ``sys.path`` is the interpreter's own again (what the grader's ``sys.path`` and the minimal root
are built from) before any set-up starts."""

from __future__ import annotations

import importlib
import os
import sys


def _run() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0]) == here:
        del sys.path[0]
    sys.path.insert(0, os.path.dirname(here))
    try:
        runner = importlib.import_module(os.path.basename(here) + ".runner")
    finally:
        del sys.path[0]
    runner.main()


if __name__ == "__main__":
    _run()
