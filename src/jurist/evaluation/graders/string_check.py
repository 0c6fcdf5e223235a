"""The ``string_check`` grader: compare a rendered input with a rendered reference; score 1.0 or 0.0.

Operations (upstream GRADERS guide; the SPEC/SDK enum is ``eq ne like ilike``):

=========  ==========================================================================================
``eq``     ``input == reference``: exact, case-sensitive, no trimming or Unicode normalisation.
``ne``     ``input != reference``. ``neq`` (the spelling in the GRADERS prose) is accepted as an alias.
``like``   ``reference`` occurs in ``input`` as a substring, case-sensitive. The match is literal:
           ``%`` and ``_`` are ordinary characters, not SQL wildcards (upstream leaves this unstated).
``ilike``  as ``like`` but case-insensitive, comparing ``str.casefold()`` of both sides (so ``ß``
           matches ``SS``).
=========  ==========================================================================================

Empty strings follow from these rules: an empty reference is a substring of every input, so ``like``
and ``ilike`` with ``reference == ""`` score 1.0; ``eq`` of two empty strings scores 1.0.

A string_check passes when its score is 1.0.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ALIASES", "OPERATIONS", "canonical_operation", "string_check"]

OPERATIONS = ("eq", "ne", "like", "ilike")
"""The operations of the SPEC enum, in its order."""

ALIASES = {"neq": "ne"}
"""Other spellings accepted, and the operation each stands for."""


def _eq(input: str, reference: str) -> bool:
    return input == reference


def _ne(input: str, reference: str) -> bool:
    return input != reference


def _like(input: str, reference: str) -> bool:
    return reference in input


def _ilike(input: str, reference: str) -> bool:
    return reference.casefold() in input.casefold()


_CHECKS: dict[str, Callable[[str, str], bool]] = {
    "eq": _eq,
    "ne": _ne,
    "neq": _ne,
    "like": _like,
    "ilike": _ilike,
}


def _unknown(operation: str) -> ValueError:
    return ValueError(f"unknown string_check operation '{operation}': use one of {', '.join(OPERATIONS)}")


def canonical_operation(operation: str) -> str:
    """The SPEC name of ``operation`` (``neq`` → ``ne``); ``ValueError`` for an unknown operation."""
    if operation not in _CHECKS:
        raise _unknown(operation)
    return ALIASES.get(operation, operation)


def string_check(input: str, reference: str, operation: str) -> float:
    """1.0 when ``input`` and ``reference`` satisfy ``operation``, else 0.0.

    Raises ``ValueError`` for an unknown operation."""
    try:
        check = _CHECKS[operation]
    except KeyError:
        raise _unknown(operation) from None
    return 1.0 if check(input, reference) else 0.0
