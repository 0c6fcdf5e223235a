"""Fences around the caller's texts in the judge prompt, which an answer cannot close.

Each text (question, conversation, reference, answers) is put between ``<<TITLE token>>`` and
``<</TITLE token>>``. The token is derived from every caller text of the prompt (a SHA-256 digest),
so it is the same for the same request (the judge cache and tests see one prompt per item) yet an
answer cannot carry it: it would have to contain a digest of itself. Anything inside a text that
looks like one of our fences, or like the section markers earlier prompts used
(``[The End of Response]``), is replaced by ``[fence marker removed]`` before fencing, so a text can
never end its fence or open a section of its own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

REMOVED = "[fence marker removed]"

# Our fences, with any title and token, and the bracketed section markers of the MT-Bench style
# prompts (``[The Start of Assistant's Answer]``), in any case and spacing.
FENCE_LOOKALIKE = re.compile(
    r"<<\s*/?\s*(?:user'?s question|conversation|reference answer|response(?:\s*\d)?|answer(?:\s*\d)?)"
    r"\b[^<>\n]{0,80}>>"
    r"|\[\s*the\s+(?:start|end)\s+of\s+[^\[\]\n]{1,80}\]",
    re.IGNORECASE,
)


def fence_token(texts: Sequence[str]) -> str:
    """The fence token of one prompt: 16 hex digits of a digest of its caller texts, in order."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


def neutralise(text: str) -> str:
    """The text with every fence or section-marker look-alike replaced, so it cannot end a fence."""
    return FENCE_LOOKALIKE.sub(REMOVED, text)


def fence(title: str, text: str, token: str) -> str:
    """The text between an opening and a closing delimiter naming its title and the token."""
    tag = f"{title.upper()} {token}"
    return f"<<{tag}>>\n{neutralise(text)}\n<</{tag}>>"
