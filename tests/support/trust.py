"""Labelled pairwise batches for the trust tests: EASY items a judge gets right in both orders, HARD
items on which ``Biased`` always prefers the answer shown first (so its two orders disagree: a tie, raw
confidence 0), while ``Right`` gets every item right. Gold: the STRONG answer wins."""

from __future__ import annotations

import json
from typing import Any

from jurist.backends.base import Generation, GenerationRequest
from jurist.backends.fake import FakeBackend
from tests.support.batches import create_batch_raw, upload_raw, wait_for_raw
from tests.support.http import Server
from tests.support.services import API_KEY
from tests.support.verdicts import pairwise_verdict_json

STRONG = "STRONG: a careful, complete and correct answer."
WEAK = "weak: a guess."


class Judge(FakeBackend):
    """Right on EASY items; on HARD ones right too, unless ``biased`` (then response_1 always wins)."""

    def __init__(self, biased: bool) -> None:
        super().__init__()
        self.biased = biased

    async def generate(self, request: GenerationRequest) -> Generation:
        self.history.append(request)
        text = " ".join(str(m.get("content")) for m in request.messages)
        strong_first = text.find("STRONG:") < text.find("weak: a guess")
        first_wins = True if self.biased and "HARD" in text else strong_first
        winner, s1, s2 = ("response_1", 5, 2) if first_wins else ("response_2", 2, 5)
        return Generation(pairwise_verdict_json(s1, s2, winner), "stop", 10, 10)


def item(name: str, hard: bool, strong_first: bool, **extra: Any) -> dict[str, Any]:
    answers = (STRONG, WEAK) if strong_first else (WEAK, STRONG)
    kind = "HARD" if hard else "EASY"
    return {"question": f"Explain {kind} item {name}.", "answer1": answers[0], "answer2": answers[1],
            "swap": True, **extra}  # fmt: skip


def chat_body(model: str, fields: dict[str, Any]) -> dict[str, Any]:
    content = [{"mode": "pairwise", "type": "json", "json": fields}]
    return {"model": model, "messages": [{"role": "user", "content": content}]}


def lines(model: str, easy: int, hard: int, **extra: Any) -> list[tuple[str, str, str]]:
    """(custom_id, JSONL line, gold label) for ``easy`` EASY and ``hard`` HARD items."""
    out = []
    for i in range(easy + hard):
        hard_one, strong_first = i >= easy, i % 2 == 0
        custom_id = f"{'h' if hard_one else 'e'}{i}"
        body = chat_body(model, item(custom_id, hard_one, strong_first, **extra))
        line = json.dumps(
            {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}
        )
        out.append((custom_id, line, "1" if strong_first else "2"))
    return out


def headers(**extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}", **extra}


def run(server: Server, batch: list[tuple[str, str, str]]) -> str:
    batch_id = create_batch_raw(server, upload_raw(server, "\n".join(line for _, line, _ in batch) + "\n"))
    assert wait_for_raw(server, batch_id, {"completed"}).request_counts.completed == len(batch)
    return batch_id


def label(server: Server, batch_id: str, batch: list[tuple[str, str, str]]) -> dict[str, Any]:
    labels = [{"custom_id": cid, "label": gold} for cid, _, gold in batch]
    resp = server.request(
        "POST", f"{server.base_url}/batches/{batch_id}/labels", json.dumps(labels), headers()
    )
    assert resp.status == 200, resp.body
    result: dict[str, Any] = resp.json()
    return result


def judge(server: Server, body: dict[str, Any], **extra: str) -> tuple[int, dict[str, Any]]:
    resp = server.request("POST", f"{server.base_url}/chat/completions", json.dumps(body), headers(**extra))
    result: dict[str, Any] = resp.json()
    return resp.status, result


def output_judgments(server: Server, batch_id: str) -> dict[str, dict[str, Any]]:
    batch = server.request("GET", f"{server.base_url}/batches/{batch_id}", headers=headers()).json()
    content = server.request(
        "GET", f"{server.base_url}/files/{batch['output_file_id']}/content", headers=headers()
    )
    found = {}
    for raw in content.body.decode().splitlines():
        line = json.loads(raw)
        found[line["custom_id"]] = line["response"]["body"]["judgment"]
    return found
