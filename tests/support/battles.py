"""Pairwise "battles" (the STRONG answer against a weak one, with the competitors named in metadata) and
single lines as batch input, a judge that prefers STRONG, and calls of the labels endpoints: shared by the
report, labels and OpenAPI tests."""

from __future__ import annotations

import json

from jurist.backends.base import Generation, GenerationRequest
from jurist.backends.fake import FakeBackend
from tests.support.batches import create_batch_raw, upload_raw, wait_for_raw
from tests.support.http import Server
from tests.support.services import API_KEY
from tests.support.verdicts import pairwise_verdict_json, single_verdict_json

STRONG = "STRONG: a careful, complete and correct answer that explains its reasoning step by step."
WEAK = "weak: a guess."


def battle(custom_id: str, strong_first: bool, swap: bool = False) -> str:
    answers = (STRONG, WEAK) if strong_first else (WEAK, STRONG)
    models = ("strong-model", "weak-model") if strong_first else ("weak-model", "strong-model")
    item = {"question": f"Explain item {custom_id}.", "answer1": answers[0], "answer2": answers[1]}
    if swap:
        item["swap"] = True
    return json.dumps(
        {
            "custom_id": custom_id,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "pai-judge",
                "messages": [
                    {"role": "user", "content": [{"mode": "pairwise", "type": "json", "json": item}]}
                ],
            },
            "metadata": {"model_a": models[0], "model_b": models[1]},
        }
    )


def headers(**extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}", **extra}


class Scripted(FakeBackend):
    async def generate(self, request: GenerationRequest) -> Generation:
        text = " ".join(str(m.get("content")) for m in request.messages)
        self.history.append(request)
        if STRONG not in text:
            return Generation(single_verdict_json(3), "stop", 10, 10)
        first_is_strong = text.find("STRONG:") < text.find("weak: a guess")
        winner = "response_1" if first_is_strong else "response_2"
        s1, s2 = (5, 2) if first_is_strong else (2, 5)
        return Generation(pairwise_verdict_json(s1, s2, winner), "stop", 10, 10)


def single(custom_id: str) -> str:
    item = {"question": "What is 2+2?", "answer": "4"}
    content = [{"mode": "single", "type": "json", "json": item}]
    body = {"model": "pai-judge", "messages": [{"role": "user", "content": content}]}
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body})


def completed_batch(server: Server, lines: list[str]) -> str:
    batch_id = create_batch_raw(server, upload_raw(server, "\n".join(lines) + "\n"))
    wait_for_raw(server, batch_id, {"completed"})
    return batch_id


def labels_url(server: Server, batch_id: str) -> str:
    return f"{server.base_url}/batches/{batch_id}/labels"


def post(server: Server, batch_id: str, body: object, **extra: str) -> tuple[int, dict[str, object]]:
    text = body if isinstance(body, str) else json.dumps(body)
    resp = server.request("POST", labels_url(server, batch_id), text, headers(**extra))
    return resp.status, resp.json()
