"""JSON verdicts as a well-behaved judge model would write them (for the scripted backend)."""

from __future__ import annotations

import json

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
