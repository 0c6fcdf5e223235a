"""The review page's filters (query parameters, applied on the server over the batch's review index):
abstained, swap-inconsistent, unscored, low confidence (below ``threshold``), flagged, disagrees with
the human labels' majority, and by winner (pairwise) or by score (single). Filters combine (and)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from urllib.parse import urlencode

from jurist.api.console.numbers import int_param
from jurist.api.console.review_index import Entry
from jurist.errors import InvalidRequest
from jurist.evaluation.agreement import Label, majority

DEFAULT_THRESHOLD = 0.5
CHECKS = (
    ("abstained", "Abstained"),
    ("inconsistent", "Swap-inconsistent"),
    ("unscored", "Unscored"),
    ("low", "Low confidence"),
    ("flagged", "Flagged"),
    ("disagrees", "Disagrees with a label"),
)


@dataclass(frozen=True)
class Filters:
    abstained: bool = False
    inconsistent: bool = False
    unscored: bool = False
    low: bool = False
    flagged: bool = False
    disagrees: bool = False
    threshold: float = DEFAULT_THRESHOLD
    winner: str = ""  # "1" | "2" | "tie"
    score: int | None = None

    def query(self, **extra: str | int) -> str:
        """These filters (and ``extra``) as a query string, defaults left out."""
        params: dict[str, str | int | float] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value != f.default:
                params[f.name] = "1" if value is True else value
        return urlencode({**params, **extra})


def _flag(params: Mapping[str, str], name: str) -> bool:
    return params.get(name, "") not in ("", "0", "false", "off")


def parse(params: Mapping[str, str]) -> Filters:
    raw_threshold = params.get("threshold", "") or str(DEFAULT_THRESHOLD)
    try:
        threshold = float(raw_threshold)
    except ValueError:
        raise InvalidRequest(
            f"threshold must be a number, got {raw_threshold!r}.", param="threshold"
        ) from None
    if not 0.0 <= threshold <= 1.0:
        raise InvalidRequest("threshold must be between 0 and 1.", param="threshold")
    winner = params.get("winner", "")
    if winner not in ("", "1", "2", "tie"):
        raise InvalidRequest('winner must be "1", "2" or "tie".', param="winner")
    raw_score = params.get("score", "")
    score = int_param(raw_score, "score", signed=True) if raw_score else None
    checks = {name: _flag(params, name) for name, _ in CHECKS}
    return Filters(**checks, threshold=threshold, winner=winner, score=score)


def majorities(labels: Mapping[str, list[Label]]) -> dict[str, Label]:
    """custom_id → the majority of its labels (lines whose annotators tie have none)."""
    found: dict[str, Label] = {}
    for custom_id, given in labels.items():
        top = majority(given)
        if isinstance(top, str | int):
            found[custom_id] = top
    return found


def keeps(f: Filters, e: Entry, gold: Mapping[str, Label]) -> bool:
    if f.abstained and not e.abstained:
        return False
    if f.inconsistent and not e.inconsistent:
        return False
    if f.unscored and not e.unscored:
        return False
    if f.low and not (e.confidence is not None and e.confidence < f.threshold):
        return False
    if f.flagged and not e.flagged:
        return False
    if f.disagrees and not (e.custom_id in gold and gold[e.custom_id] != e.verdict):
        return False
    if f.winner and not (e.mode == "pairwise" and e.verdict == f.winner):
        return False
    return f.score is None or (e.mode == "single" and e.verdict == f.score)


def select(f: Filters, entries: list[Entry], gold: Mapping[str, Label]) -> list[int]:
    """The positions (in the output file's order) of the entries the filters keep."""
    if f == Filters():
        return list(range(len(entries)))
    return [i for i, e in enumerate(entries) if keeps(f, e, gold)]
