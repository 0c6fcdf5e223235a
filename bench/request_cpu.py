#!/usr/bin/env python3
"""CPU of Jurist's own request path in process, no HTTP and no upstream: parse a custom-template chat
body (``parse_chat_request``), run it through ``ChatService.complete`` on the scripted backend, and dump
the ``chat.completion``; and one batch line through ``execute_line``. Microseconds per call.

    .venv/bin/python bench/request_cpu.py [-n 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import orjson

from jurist.backends.fake import FakeBackend
from jurist.runner.execute import execute_line
from jurist.service.judging.models import JudgeModel
from jurist.service.judging.pipeline import ChatService
from jurist.service.judging.requests import parse_chat_request
from jurist.settings import OpenAIModelConfig
from jurist.store.records import ClaimedRequest

BODY = {
    "model": "pai-judge",
    "messages": [
        {"role": "system", "content": "You are a helpful assistant. " * 3},
        {
            "role": "user",
            "content": "Please rate the following question-answer pair on a scale of 1 to 5. " * 2,
        },
    ],
    "max_tokens": 64,
}


async def main(n: int) -> dict[str, float]:
    fake = FakeBackend("The answer is 4 out of 5.")
    config = OpenAIModelConfig(base_url="http://127.0.0.1:9/v1")
    chat = ChatService({"pai-judge": JudgeModel("pai-judge", config, fake)})
    raw = orjson.dumps(BODY)
    line = ClaimedRequest("batch", 1, "r1", "pai-judge", raw.decode(), 1)

    async def request() -> None:
        completion = await chat.complete(parse_chat_request(orjson.loads(raw)))
        completion.model_dump_json()

    async def batch_line() -> None:
        await execute_line(chat, line, 5, 1.0)

    out = {}
    for name, step in (("request_us", request), ("batch_line_us", batch_line)):
        for _ in range(n // 10):  # warm up
            await step()
        started = time.process_time()
        for _ in range(n):
            await step()
        out[name] = round((time.process_time() - started) / n * 1e6, 2)
        fake.history.clear()
    started = time.process_time()
    for _ in range(n):
        parse_chat_request(orjson.loads(raw))
    out["parse_us"] = round((time.process_time() - started) / n * 1e6, 2)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20000)
    print(json.dumps(asyncio.run(main(parser.parse_args().n))))
