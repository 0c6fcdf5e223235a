"""The typed judgment writes exactly the bytes earlier versions wrote (and reads them back)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from jurist.api.chat import _chunk_json
from jurist.backends.fake import FakeBackend
from jurist.protocol.judgment import Judgment, PairwiseJudgment, SingleJudgment
from jurist.service.judging.models import JudgeModel
from jurist.service.judging.pipeline import ChatService
from jurist.service.judging.requests import parse_chat_request
from jurist.settings import LlamaCppModelConfig
from tests.support.wire_cases import CASES, normalised

GOLDEN = json.loads((Path(__file__).parents[1] / "data" / "judgment_wire" / "golden.json").read_text())
READ: TypeAdapter[SingleJudgment | PairwiseJudgment] = TypeAdapter(Judgment)


def _chat(answers: list[str]) -> ChatService:
    fake = FakeBackend()
    fake.enqueue(*answers)
    return ChatService({"m": JudgeModel("m", LlamaCppModelConfig(), fake)})


@pytest.mark.parametrize("name", sorted(CASES))
async def test_a_completion_is_byte_identical_to_the_earlier_wire_format(name: str) -> None:
    raw, answers = CASES[name]
    completion = await _chat(answers).complete(parse_chat_request(raw))
    assert normalised(completion.model_dump_json()) == GOLDEN[name]


@pytest.mark.parametrize("name", sorted(CASES))
async def test_the_last_stream_chunk_is_byte_identical_too(name: str) -> None:
    raw, answers = CASES[name]
    stream = _chat(answers).open_stream(parse_chat_request({**raw, "stream": True}))
    chunks = [_chunk_json(chunk).decode() async for chunk in stream]
    assert normalised(next(c for c in chunks if '"judgment"' in c)) == GOLDEN[f"{name}:stream"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_written_judgment_reads_back_to_the_same_bytes(name: str) -> None:
    judgment = json.loads(GOLDEN[name])["judgment"]
    again = READ.validate_python(judgment)
    assert json.loads(again.model_dump_json()) == judgment
    assert again.model_dump_json() == json.dumps(judgment, ensure_ascii=False, separators=(",", ":"))


def test_the_golden_file_covers_every_block() -> None:
    text = "".join(GOLDEN.values())
    for key in (
        '"swap":',
        '"ensemble":',
        '"games":',
        '"prompt":',
        '"unscored_reason":',
        '"consistent":false',
    ):
        assert key in text
