"""A python grader's source, checked WITHOUT executing any of it: what ``graders/validate``, eval
creation and every grade (before a process is started) use. ``ast.parse`` and ``compile`` only; neither
runs the code."""

from __future__ import annotations

import ast
import functools

from jurist.errors import InvalidRequest

MAX_SOURCE_BYTES = 256 * 1024


def validate_source(source: str, *, param: str = "grader.source") -> None:
    """Check a python grader's source WITHOUT executing any of it.

    Size (at most 256 kB of UTF-8), syntax (``ast.parse`` and ``compile``: neither runs the code) and a
    top-level ``def grade(sample, item)`` callable with two positional arguments. Raises
    ``InvalidRequest`` naming ``param``.
    """
    if not isinstance(source, str):
        raise InvalidRequest("the python grader source must be a string", param=param)
    try:
        size = len(source.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidRequest(
            f"the python grader source is not valid UTF-8: {exc.reason}", param=param
        ) from None
    if size > MAX_SOURCE_BYTES:
        raise InvalidRequest(
            f"the python grader source is {size} bytes; the limit is {MAX_SOURCE_BYTES} bytes (256 kB)",
            param=param,
        )
    try:
        tree = ast.parse(source, filename="<grader>", mode="exec")
        compile(tree, "<grader>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        raise InvalidRequest(
            f"the python grader source has a syntax error{where}: {exc.msg}", param=param
        ) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        raise InvalidRequest(f"the python grader source cannot be compiled: {exc}", param=param) from None
    grade: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    for node in tree.body:  # the last top-level definition is the one a run would call
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "grade":
            grade = node
    if grade is None:
        raise InvalidRequest(
            "the python grader source must define a top-level function grade(sample, item)", param=param
        )
    if isinstance(grade, ast.AsyncFunctionDef):
        raise InvalidRequest("grade(sample, item) must be a plain function, not async def", param=param)
    if not _takes_two_positional(grade.args):
        raise InvalidRequest(
            f"grade must accept two positional arguments (sample, item), line {grade.lineno}", param=param
        )


@functools.lru_cache(maxsize=32)
def validation_error(source: str) -> str | None:
    """``validate_source`` once per source (a run grades every row with the same one)."""
    try:
        validate_source(source)
    except InvalidRequest as exc:
        return exc.message
    return None


def _takes_two_positional(args: ast.arguments) -> bool:
    positional = len(args.posonlyargs) + len(args.args)
    required = positional - len(args.defaults)
    keyword_only_required = any(default is None for default in args.kw_defaults)
    return required <= 2 and (positional >= 2 or args.vararg is not None) and not keyword_only_required
