"""Hand-built batch input/output/error lines for report tests (the shapes the Batch API writes)."""

from __future__ import annotations

from typing import Any


def output_line(custom_id: str, judgment: object, model: str = "pai-judge") -> dict[str, Any]:
    """An output line of a request that succeeded; ``judgment`` None: a custom template's (no judgment)."""
    body: dict[str, Any] = {
        "id": f"chatcmpl-{custom_id}",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "..."}, "finish_reason": "stop"}
        ],
    }
    if judgment is not None:
        body["judgment"] = judgment
    return {
        "id": f"batch_req_{custom_id}",
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": f"req_{custom_id}", "body": body},
        "error": None,
    }


def pair_judgment(
    winner: str | None, s1: int | None = 4, s2: int | None = 3, parsed_by: str = "json"
) -> dict[str, Any]:
    scored = winner is not None
    return {
        "mode": "pairwise",
        "scored": scored,
        "score_range": [1, 5],
        "parsed_by": parsed_by if scored else "unscored",
        "attempts": 1 if scored else 2,
        "winner": winner,
        "scores": {"response_1": s1 if scored else None, "response_2": s2 if scored else None},
        "criteria": [
            {"name": "Accuracy", "scores": {"response_1": s1, "response_2": s2}, "reason": "r"},
            {"name": "Timeliness", "scores": {"response_1": None, "response_2": None}, "reason": "N/A"},
        ]
        if scored
        else [],
    }


def ensemble(samples: int, scored_games: int, agreement: float | None, **extra: Any) -> dict[str, Any]:
    """A pairwise ``ensemble`` block as pai-judge-plus writes it (without swap: one game per sample)."""
    votes = {"response_1": 0, "response_2": 0, "tie": 0}
    return {"samples": samples, "total_games": samples, "scored_games": scored_games, "votes": votes,
            "agreement": agreement, **extra}  # fmt: skip


def pair_output(custom_id: str, winner: str | None, s1: int = 4, s2: int = 3, **extra: Any) -> dict[str, Any]:
    judgment = pair_judgment(winner, s1, s2)
    judgment.update(extra)
    return output_line(custom_id, judgment)


def swapped_output(custom_id: str, as_given: str | None, swapped: str | None) -> dict[str, Any]:
    """A pair judged in both orders; ``swapped`` is the second game's winner in the caller's order."""
    consistent = None if as_given is None or swapped is None else as_given == swapped
    if as_given is None or swapped is None:
        final = as_given or swapped
    else:
        final = as_given if consistent else "tie"
    judgment = pair_judgment(final)
    judgment["swap"] = {
        "consistent": consistent,
        "rule": "disagreement_is_tie",
        "mean_scores": {"response_1": 4.0, "response_2": 3.0},
        "games": [
            {"order": "as_given", **pair_judgment(as_given)},
            {"order": "swapped", **pair_judgment(swapped)},
        ],
    }
    return output_line(custom_id, judgment)


def single_output(
    custom_id: str, overall: int | None, criteria: dict[str, int | None] | None = None, **extra: Any
) -> dict[str, Any]:
    scored = overall is not None
    judgment: dict[str, Any] = {
        "mode": "single",
        "scored": scored,
        "score_range": [1, 5],
        "parsed_by": "json" if scored else "unscored",
        "attempts": 1,
        "overall_score": overall,
        "criteria": [{"name": k, "score": v, "reason": "r"} for k, v in (criteria or {}).items()]
        if scored
        else [],
    }
    judgment.update(extra)
    return output_line(custom_id, judgment)


def custom_output(custom_id: str) -> dict[str, Any]:
    return output_line(custom_id, None)


def error_line(custom_id: str, status: int = 502, code: str = "upstream_error") -> dict[str, Any]:
    return {
        "id": f"batch_req_{custom_id}",
        "custom_id": custom_id,
        "response": {
            "status_code": status,
            "request_id": f"req_{custom_id}",
            "body": {"error": {"message": "failed", "type": "server_error", "param": None, "code": code}},
        },
        "error": None,
    }


def pair_input(
    custom_id: str,
    answer1: str,
    answer2: str,
    model_a: str | None = None,
    model_b: str | None = None,
    judge: str = "pai-judge",
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": judge,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "mode": "pairwise",
                            "type": "json",
                            "json": {
                                "question": f"Question {custom_id}?",
                                "answer1": answer1,
                                "answer2": answer2,
                            },
                        }
                    ],
                }
            ],
        },
    }
    if model_a is not None or model_b is not None:
        line["metadata"] = {k: v for k, v in (("model_a", model_a), ("model_b", model_b)) if v is not None}
    return line


def arena(
    strengths: dict[str, float], battles: int, seed: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(input lines, output lines) of battles between models with known log-strengths (no ties)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    names = list(strengths)
    inputs, outputs = [], []
    for k in range(battles):
        a, b = rng.choice(len(names), size=2, replace=False)
        p = 1 / (1 + np.exp(-(strengths[names[a]] - strengths[names[b]])))
        winner = "response_1" if rng.random() < p else "response_2"
        cid = f"battle-{k}"
        inputs.append(
            pair_input(
                cid, "x" * int(rng.integers(5, 50)), "y" * int(rng.integers(5, 50)), names[a], names[b]
            )
        )
        outputs.append(pair_output(cid, winner))
    return inputs, outputs


def sample_batch() -> tuple[list[Any], list[Any], list[Any]]:
    """(inputs, outputs, errors) of a batch that touches every figure of a report: a three-model arena,
    swapped pairs (consistent, not, half unscored), an ensemble with expected scores, a competitor
    against itself, single lines on two scales with N/A criteria, a custom-template line, failed and
    malformed lines, and input lines a report cannot use."""
    inputs, outputs = arena({"alpha": 1.0, "beta": 0.0, "gamma": -1.0}, 45, seed=3)
    swaps = [("response_1", "response_1"), ("response_1", "response_2"), ("tie", "response_2"),
             (None, "response_1"), ("response_2", "response_2"), ("response_1", None)]  # fmt: skip
    for i, (as_given, swapped) in enumerate(swaps):
        inputs.append(pair_input(f"w{i}", "a longer answer " * (1 + i % 3), "short", "alpha", "delta"))
        outputs.append(swapped_output(f"w{i}", as_given, swapped))
    inputs.append(pair_input("same", "a", "b", "alpha", "alpha"))  # one competitor on both sides
    outputs.append(pair_output("same", "response_1"))
    inputs.append(pair_input("plus", "ééé", "abcde", "beta", "delta"))
    plus = ensemble(6, 6, 5 / 6, mean_scores={"response_1": 4.2, "response_2": 2.8})
    expected = {"response_1": 4.125, "response_2": 2.875}
    outputs.append(pair_output("plus", "response_1", ensemble=plus, expected_score=expected))
    outputs.append(pair_output("unscored", None))
    outputs.append(output_line("other-judge", pair_judgment("tie", 3, 3, parsed_by="repair_json"), "judge-b"))
    for i, overall in enumerate([1, 2, 3, 3, 4, 5, 5, 4]):
        criteria = {"Accuracy": overall, "Clarity": None if i % 3 == 0 else 4}
        outputs.append(single_output(f"s{i}", overall, criteria, expected_score=overall + 0.25))
    outputs.append(single_output("ten", 7, {"Accuracy": 8}, score_range=[0, 10]))
    outputs.append(single_output("s-unscored", None))
    outputs.append(custom_output("custom"))
    outputs.append(error_line("e-out", 500, "server_error"))
    outputs.append("not json")
    inputs += [{"custom_id": 12, "body": []}, "not json", {"custom_id": "odd", "body": {"messages": "x"},
               "metadata": ["model_a"]}]  # fmt: skip
    errors = [error_line("e1"), error_line("e2", 429, "rate_limit_exceeded"),
              {"custom_id": "e3", "response": None, "error": {"code": "batch_expired", "message": "x"}}]  # fmt: skip
    return inputs, outputs, errors
