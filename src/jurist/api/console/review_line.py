"""One reviewed line as the page shows it: from the batch's input line (joined on ``custom_id``) the
question or conversation, the reference and the answer(s); from its output line the judgment (read as
the typed ``Judgment``), the PAI text (the reply's content) or the line's error. Only the two lines are
read, at the offsets the review index holds."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from jurist.api.console.review_index import Entry
from jurist.evaluation.report_lines import read_judgment
from jurist.protocol.items import message_items
from jurist.protocol.judgment import PairwiseJudgment, SingleJudgment
from jurist.store.blobs import BlobStore


@dataclass
class Turn:
    role: str
    content: str


@dataclass
class LineView:
    custom_id: str
    model: str = ""
    question: str | None = None
    conversation: list[Turn] = field(default_factory=list)
    reference: str | None = None
    answers: list[str] = field(default_factory=list)  # one (single) or two (pairwise)
    judgment: SingleJudgment | PairwiseJudgment | None = None
    unreadable: str | None = None  # why the judgment could not be read
    pai_text: str | None = None
    error: str | None = None  # the line's error (status and message), when it failed


def _object(raw: bytes) -> dict[str, object]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _read_input(view: LineView, line: dict[str, object]) -> None:
    body = line.get("body")
    messages = body.get("messages") if isinstance(body, dict) else None
    fields = next((s.fields for s in message_items(messages) if s.fields is not None), None)
    if fields is None:
        return
    question = fields.get("question")
    if isinstance(question, list):
        view.conversation = [
            Turn(str(t.get("role", "")), str(t.get("content", ""))) for t in question if isinstance(t, dict)
        ]
    else:
        view.question = _text(question)
    view.reference = _text(fields.get("reference"))
    keys = ("answer1", "answer2") if "answer1" in fields or "answer2" in fields else ("answer",)
    view.answers = [_text(fields.get(k)) or "" for k in keys]


def _pai_text(body: dict[str, object]) -> str | None:
    choices = body.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict):
            return _text(message.get("content"))
    return None


def _read_output(view: LineView, line: dict[str, object]) -> None:
    response = line.get("response")
    body = response.get("body") if isinstance(response, dict) else None
    if isinstance(body, dict) and isinstance(response, dict):
        view.model = str(body.get("model", ""))
        if "judgment" in body:
            judgment = read_judgment(body["judgment"])
            if isinstance(judgment, str):
                view.unreadable = judgment
            else:
                view.judgment = judgment
        view.pai_text = _pai_text(body)
        error = body.get("error")
        if isinstance(error, dict):
            view.error = f"{response.get('status_code')}: {error.get('message')}"
    error = line.get("error")
    if isinstance(error, dict) and view.error is None:
        view.error = f"{error.get('code')}: {error.get('message')}"


async def read_line(
    blobs: BlobStore, input_file_id: str | None, output_file_id: str, entry: Entry
) -> LineView:
    view = LineView(entry.custom_id)
    if input_file_id is not None and entry.in_at >= 0:
        _read_input(view, _object(await blobs.read_range(input_file_id, entry.in_at, entry.in_len)))
    _read_output(view, _object(await blobs.read_range(output_file_id, entry.out_at, entry.out_len)))
    return view
