#!/usr/bin/env python3
"""A stand-in for a remote judge provider, for tests of the whole product (``jurist serve`` in its own
process, the console in Chromium): an OpenAI-compatible ``/v1/chat/completions`` that answers every
judge call with a verdict filling the JSON schema Jurist sends (``response_format.json_schema``), by a
fixed rule a test can predict: the longer answer wins (4 against 2; the same length: a tie, 3 and 3);
a single answer scores 2 when shorter than 40 characters, else 4; every criterion gets the overall score
and a reason naming it. Requests without a schema (custom templates) get a short plain answer.

    python tests/support/judge_stub.py --port 18001
"""

from __future__ import annotations

import argparse
import json
import re
import time

from aiohttp import web

FENCE = r"<<{title} [0-9a-f]+>>\n?(.*?)\n?<</{title} [0-9a-f]+>>"


def _fenced(text: str, title: str) -> str | None:
    found = re.search(FENCE.format(title=re.escape(title.upper())), text, flags=re.DOTALL)
    return found.group(1) if found else None


def verdict(schema: dict[str, object], prompt: str) -> dict[str, object]:
    properties = schema.get("properties", {})
    assert isinstance(properties, dict)
    criteria_schema = properties.get("criteria", {})
    names = list(criteria_schema.get("properties", {})) if isinstance(criteria_schema, dict) else []
    if "winner" in properties:
        a, b = _fenced(prompt, "Response 1") or "", _fenced(prompt, "Response 2") or ""
        s1, s2 = (4, 2) if len(a) > len(b) else (2, 4) if len(b) > len(a) else (3, 3)
        winner = "response_1" if s1 > s2 else "response_2" if s2 > s1 else "tie"
        per = {n: {"reason": f"{n}: the longer answer covers more.", "response_1_score": s1,
                   "response_2_score": s2} for n in names}  # fmt: skip
        return {"criteria": per, "summary": "The longer answer is better.", "response_1_score": s1,
                "response_2_score": s2, "winner": winner}  # fmt: skip
    answer = _fenced(prompt, "Response") or ""
    score = 2 if len(answer) < 40 else 4
    per = {n: {"reason": f"{n}: judged by its length.", "score": score} for n in names}
    return {"criteria": per, "summary": "Judged by length.", "overall_score": score}


async def chat(request: web.Request) -> web.Response:
    body = await request.json()
    prompt = "\n".join(str(m.get("content")) for m in body.get("messages", []))
    fmt = body.get("response_format") or {}
    schema = fmt.get("json_schema", {}).get("schema") if isinstance(fmt, dict) else None
    content = json.dumps(verdict(schema, prompt)) if isinstance(schema, dict) else "A plain answer."
    answer = {
        "id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "stub"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(content) // 4,
                  "total_tokens": (len(prompt) + len(content)) // 4},
    }  # fmt: skip
    return web.json_response(answer)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
