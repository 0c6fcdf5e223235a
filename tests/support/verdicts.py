"""JSON verdicts as a well-behaved judge model would write them (for the scripted backend)."""

from __future__ import annotations

import json
import re

from jurist.judging.criteria import DEFAULT_CRITERIA


def single_verdict_json(overall: int = 2, na: tuple[str, ...] = ("Timeliness",)) -> str:
    criteria = {
        c.name: {"reason": f"{c.name} reason.", "score": None if c.name in na else overall}
        for c in DEFAULT_CRITERIA["en"]
    }
    return json.dumps({"criteria": criteria, "summary": "It is weak.", "overall_score": overall})


def pairwise_verdict_json(s1: int = 4, s2: int = 4, winner: str = "tie") -> str:
    criteria = {
        c.name: {
            "reason": f"{c.name} reason.",
            "response_1_score": None if c.name == "Timeliness" else s1,
            "response_2_score": None if c.name == "Timeliness" else s2,
        }
        for c in DEFAULT_CRITERIA["en"]
    }
    return json.dumps(
        {
            "criteria": criteria,
            "summary": "Both are comparable.",
            "response_1_score": s1,
            "response_2_score": s2,
            "winner": winner,
        }
    )


def pairwise_scores_json(s1: int = 5, s2: int = 3, winner: str = "response_1") -> str:
    """A ``reasons: "none"`` pairwise verdict: scores only, no reason and no summary."""
    criteria = {c.name: {"response_1_score": s1, "response_2_score": s2} for c in DEFAULT_CRITERIA["en"]}
    body = {"criteria": criteria, "response_1_score": s1, "response_2_score": s2, "winner": winner}
    return json.dumps(body)


# How a PAI client reads a verdict text (the seed's examples): the first [[N]] is a single answer's
# overall score; a pair's winner and its two overall scores are bracketed the same way.
SEED_SINGLE_SCORE = re.compile(r"\[\[(\d+)\]\]")
SEED_PAIR_WINNER = re.compile(r"\[\[(Response 1 is better|Response 2 is better|Both responses are tied)\]\]")
SEED_PAIR_SCORES = re.compile(
    r"Response 1 is \[\[(\d+)\]\], and the overall score for Response 2 is \[\[(\d+)\]\]"
)
