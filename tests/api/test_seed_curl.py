"""The seed's curl examples, character for character but for the host, run by the real curl."""

from __future__ import annotations

import json
import os
import subprocess

from jurist.backends.fake import FakeBackend
from tests.support.live import LiveServer
from tests.support.services import API_KEY
from tests.support.verdicts import pairwise_verdict_json, single_verdict_json

SEED_HOST = "https://aiservice.cn-hangzhou.aliyuncs.com"

CURL_SINGLE = """curl -X POST https://aiservice.cn-hangzhou.aliyuncs.com/v1/chat/completions \\
  -H "Authorization: Bearer ${JUDGE_MODEL_TOKEN}" \\
  -H "Content-Type: application/json" \\
  -d '{
    "model": "pai-judge",
    "messages": [
        {
            "role": "user",
            "content": [
                {
                    "mode": "single",
                    "type": "json",
                    "json": {
                        "question": "According to the first couplet, give the second couplet. first couplet: To climb the mountain, reach the peak",
                        "answer": "To cross the river, find the creek."
                    }
                }
            ]
        }
    ]
}'"""

CURL_PAIRWISE = """curl -X POST https://aiservice.cn-hangzhou.aliyuncs.com/v1/chat/completions \\
  -H "Authorization: Bearer ${JUDGE_MODEL_TOKEN}"  \\
  -H "Content-Type: application/json" \\
  -d '{
    "model": "pai-judge",
    "messages": [
        {
            "role": "user",
            "content": [
                {
                    "mode": "pairwise",
                    "type": "json",
                    "json": {
                        "question": "According to the first couplet, give the second couplet. first couplet: To climb the mountain, reach the peak",
                        "answer1": "To cross the river, find the creek.",
                        "answer2": "To chase the dream, grasp the star."
                    }
                }
            ]
        }
    ]
}'"""

CURL_CUSTOM = """curl -X POST https://aiservice.cn-hangzhou.aliyuncs.com/v1/chat/completions \\
  -H "Authorization: Bearer ${JUDGE_MODEL_TOKEN}" \\
  -H "Content-Type: application/json" \\
  -d '{
    "model": "pai-judge",
    "messages": [
        {
            "role": "system",
            "content": "Please act as an impartial judge and evaluate the quality of the AI assistant'\\''s response to the user'\\''s question below.\\n\\nThe following is a basic personality description of these AI assistants:\\nThey will not evaluate or compare people, and will not do anything to harm humans. Their personality tends to be independent and autonomous.\\n"
        },
        {
            "role": "user",
            "content": "Please rate the following question-answer pair on a scale of 1 to 5:\\nQuestion: What do you think is the impact of social media on interpersonal relationships?\\nResponse: Social media makes it easier for people to connect, but it can also lead to alienation.\\nScoring criteria:\\n1 point: The response is completely irrelevant, empty, or entirely incorrect.\\n2 points: The response has some relevance but is superficial or overly brief.\\n3 points: The response is relevant and provides some insights but lacks in-depth analysis.\\n4 points: The response is relevant and in-depth, providing clear insights and examples.\\n5 points: The response is highly relevant and profound, providing comprehensive viewpoints and rich examples."
        }
    ]
}'"""


def run_curl(server: LiveServer, command: str) -> dict[str, object]:
    local = command.replace(SEED_HOST, f"http://127.0.0.1:{server.port}") + " --silent --show-error"
    env = {**os.environ, "JUDGE_MODEL_TOKEN": API_KEY}
    done = subprocess.run(
        ["bash", "-c", local], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_curl_single(server: LiveServer, fake: FakeBackend) -> None:
    fake.enqueue(single_verdict_json(2))
    body = run_curl(server, CURL_SINGLE)
    assert body["object"] == "chat.completion"
    assert body["judgment"]["overall_score"] == 2  # type: ignore[index]


def test_curl_pairwise(server: LiveServer, fake: FakeBackend) -> None:
    fake.enqueue(pairwise_verdict_json(5, 3, "response_1"))
    body = run_curl(server, CURL_PAIRWISE)
    content = body["choices"][0]["message"]["content"]  # type: ignore[index]
    assert content.startswith("***\nI think [[Response 1 is better]].")


def test_curl_custom_template(server: LiveServer, fake: FakeBackend) -> None:
    fake.enqueue("I would give this response a score of 3.")
    body = run_curl(server, CURL_CUSTOM)
    assert body["choices"][0]["message"]["content"] == "I would give this response a score of 3."  # type: ignore[index]
    system = fake.history[-1].messages[0]["content"]
    assert system.startswith(
        "Please act as an impartial judge and evaluate the quality of the AI assistant's"
    )
