"""A scripted judge that answers whatever it is asked, single or pairwise: it reads the verdict's JSON
schema (the criteria asked for, the score scale, the mode) from the request, as a grammar-constrained model
would, so criteria and score ranges a caller sets show up in its verdict. Pairwise: the answer holding
``STRONG`` wins (a tie when neither does); single: the second-best score of the scale. A custom template
(no schema) gets a plain text answer."""

from __future__ import annotations

import json
from typing import Any

from jurist.backends.base import Generation, GenerationRequest
from tests.support.trust import Judge

CUSTOM_ANSWER = "Rating: [[4]] (a custom template's answer)"


class SchemaJudge(Judge):
    def __init__(self) -> None:
        super().__init__(biased=False)

    async def generate(self, request: GenerationRequest) -> Generation:
        self.history.append(request)
        schema = request.json_schema
        if schema is None:
            return Generation(CUSTOM_ANSWER, "stop", 12, 8)
        properties: dict[str, Any] = schema["properties"]  # type: ignore[assignment]
        names = list(properties["criteria"]["properties"])
        text = str(request.messages[-1].get("content"))  # the fenced texts
        if "overall_score" in properties:
            values = properties["overall_score"]["enum"]
            return Generation(json.dumps(single(names, values)), "stop", 20, 10)
        values = properties["response_1_score"]["enum"]
        return Generation(json.dumps(pairwise(names, values, text)), "stop", 20, 10)


def single(names: list[str], values: list[int]) -> dict[str, Any]:
    overall = values[-2]
    criteria = {n: {"reason": f"{n}: reasoned on {values[0]}-{values[-1]}.", "score": overall} for n in names}
    return {"criteria": criteria, "summary": "A fair answer.", "overall_score": overall}


def pairwise(names: list[str], values: list[int], text: str) -> dict[str, Any]:
    strong, second = text.find("STRONG"), text.find("<<RESPONSE 2 ")
    if strong < 0:
        winner, s1, s2 = "tie", values[-2], values[-2]
    elif strong < second:
        winner, s1, s2 = "response_1", values[-1], values[0]
    else:
        winner, s1, s2 = "response_2", values[0], values[-1]
    criteria = {
        n: {"reason": f"{n}: compared.", "response_1_score": s1, "response_2_score": s2} for n in names
    }
    return {"criteria": criteria, "summary": "One is stronger.", "response_1_score": s1,
            "response_2_score": s2, "winner": winner}  # fmt: skip
