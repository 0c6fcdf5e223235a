"""Judge requests and scripted judge answers covering every shape of ``judgment`` (plain, unscored,
repaired, text-parsed, swap, ensembles, return_prompt, Chinese), for the wire-format golden test.

The golden file ``tests/data/judgment_wire/golden.json`` holds what Jurist wrote for these cases
before the judgment became a typed value (commit 7bb0ba4), with ids and timestamps normalised. The
two ``return_prompt`` cases (``single_prompt``, ``swap_inconsistent`` and their streams) were
rewritten once, deliberately, when the prompt's fences changed (judge-input hardening), and every case
once more when each scored judgment gained ``confidence`` and ``calibrated: false`` (trust; nothing
else changed). The two ``return_prompt`` cases were rewritten again when the criteria and the fence
paragraph moved to the end of the system prompt (issue 12: a prefix shared by items).
"""

from __future__ import annotations

import re
from typing import Any

from tests.support.verdicts import pairwise_verdict_json as pair_json
from tests.support.verdicts import single_verdict_json as single_json


def body(mode: str, fields: dict[str, Any]) -> dict[str, Any]:
    part = {"mode": mode, "type": "json", "json": fields}
    return {"model": "m", "messages": [{"role": "user", "content": [part]}], "cache": False}


_S = {"question": "What is 2+2?", "answer": "4"}
_P = {"question": "What is 2+2?", "answer1": "4", "answer2": "5"}
_RICH = {**_S, "return_prompt": True, "criteria": ["Accuracy", {"name": "Depth", "description": "deep"}]}

# name -> (request body, the judge model's answers in order)
CASES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "single": (body("single", _S), [single_json(3)]),
    "single_prompt": (body("single", {**_RICH, "score_range": [1, 10]}), [single_json(7, ())]),
    "single_unscored": (body("single", _S), ["garbage", "more garbage"]),
    "single_repair": (body("single", _S), ["garbage", single_json(2)]),
    "single_text": (body("single", _S), ["Overall score: [[4]]"]),
    "pair": (body("pairwise", _P), [pair_json(4, 2, "response_1")]),
    "pair_unscored": (body("pairwise", _P), ["x", "y"]),
    "swap_consistent": (
        body("pairwise", {**_P, "swap": True}),
        [pair_json(4, 2, "response_1"), pair_json(2, 4, "response_2")],
    ),
    "swap_inconsistent": (
        body("pairwise", {**_P, "swap": True, "return_prompt": True}),
        [pair_json(4, 2, "response_1"), pair_json(4, 2, "response_1")],
    ),
    "swap_one_unscored": (body("pairwise", {**_P, "swap": True}), [pair_json(4, 2, "response_1"), "x", "y"]),
    "pair_ensemble_swap": (
        body("pairwise", {**_P, "swap": True, "samples": 2}),
        [
            pair_json(4, 2, "response_1"),
            pair_json(2, 4, "response_2"),
            pair_json(3, 3),
            pair_json(2, 5, "response_1"),
        ],
    ),
    "pair_ensemble": (
        body("pairwise", {**_P, "samples": 3}),
        [pair_json(4, 2, "response_1"), pair_json(2, 4, "response_2"), pair_json(5, 3, "response_1")],
    ),
    "single_ensemble": (body("single", {**_S, "samples": 3}), [single_json(3), single_json(4), "x", "y"]),
    "chinese": (body("single", {"question": "二加二等于几？", "answer": "四"}), [single_json(5)]),
}

_COMPLETION_HEAD = re.compile(r'"id":"chatcmpl-[^"]*","object":"chat\.completion","created":\d+')
_CHUNK_HEAD = re.compile(r'"id":"chatcmpl-[^"]*","object":"chat\.completion\.chunk","created":\d+')


def normalised(text: str) -> str:
    """A completion's or chunk's JSON with its id and ``created`` replaced by fixed values."""
    text = _COMPLETION_HEAD.sub('"id":"X","object":"chat.completion","created":0', text)
    return _CHUNK_HEAD.sub('"id":"X","object":"chat.completion.chunk","created":0', text)
