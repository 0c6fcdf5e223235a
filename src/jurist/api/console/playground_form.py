"""The Playground's form, as a person filled it in, and the request it stands for: the exact body
``POST /v1/chat/completions`` would get (the judge item as the seed's content part, ``return_prompt`` on),
and that call written as a curl command and as the openai SDK's Python. Nothing is checked here: the body
goes through the API's own parser, so a bad field gets the API's own 400 message. The body's shape is
typed below (``ChatBody``): what this form can send, not everything the API accepts."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import TypedDict

from starlette.datastructures import FormData

MODES = ("single", "pairwise", "custom")
ROLES = ("user", "assistant")
SWAPS = ("default", "on", "off")
REASONS = ("full", "short", "none")


# A number field as typed: an int or a float when it reads as one, else the text (the API refuses it).
Number = int | float | str


class Message(TypedDict):
    role: str
    content: str


class CriterionBody(TypedDict):
    name: str
    description: str


class JudgeItemBody(TypedDict, total=False):
    """The judge item's fields the form can fill in (an empty field is left out)."""

    question: str | list[Message]  # a list: a conversation, the question its last user turn
    answer: str
    answer1: str
    answer2: str
    reference: str
    scene: str
    score_range: list[Number]
    criteria: list[CriterionBody | str]  # a name alone when there is no description
    swap: bool
    reasons: str
    samples: Number
    agreement_target: Number
    delta: Number
    return_prompt: bool


class JudgePart(TypedDict):
    """PAI's judge content part: the item as ``json``, its ``mode`` beside it."""

    mode: str
    type: str
    json: JudgeItemBody


class JudgeMessage(TypedDict):
    role: str
    content: list[JudgePart]


class ChatBody(TypedDict):
    """The ``POST /v1/chat/completions`` body: a judge item in a user message, or a custom template's
    messages as they are."""

    model: str
    messages: list[Message | JudgeMessage]


@dataclass(frozen=True)
class Turn:
    role: str
    content: str


@dataclass(frozen=True)
class Criterion:
    name: str
    description: str


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _texts(form: FormData, name: str) -> list[str]:
    return [value if isinstance(value, str) else "" for value in form.getlist(name)]


def _number(raw: str) -> Number:
    """A number as typed (an int when it is one); anything else as the text, for the API to refuse."""
    text = raw.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


@dataclass(frozen=True)
class PlaygroundForm:
    mode: str = "single"
    model: str = "pai-judge"
    turns: list[Turn] = field(default_factory=list)  # earlier turns of a conversation, before the question
    question: str = ""
    answer: str = ""
    answer1: str = ""
    answer2: str = ""
    reference: str = ""
    scene: str = ""
    score_low: str = ""
    score_high: str = ""
    criteria: list[Criterion] = field(default_factory=list)
    swap: str = "default"
    samples: str = ""
    reasons: str = "default"  # full | short | none, or the model's default
    agreement_target: str = ""
    delta: str = ""
    system: str = ""
    user: str = ""

    @classmethod
    def parse(cls, form: FormData, default_model: str) -> PlaygroundForm:
        mode = _text(form, "mode")
        swap = _text(form, "swap")
        roles, contents = _texts(form, "turn_role"), _texts(form, "turn_content")
        names, descriptions = _texts(form, "criterion_name"), _texts(form, "criterion_description")
        return cls(
            mode=mode if mode in MODES else "single",
            model=_text(form, "model") or default_model,
            turns=[
                Turn(role if role in ROLES else "user", content)
                for role, content in zip(roles, contents, strict=False)
                if content.strip()
            ],
            question=_text(form, "question"),
            answer=_text(form, "answer"),
            answer1=_text(form, "answer1"),
            answer2=_text(form, "answer2"),
            reference=_text(form, "reference"),
            scene=_text(form, "scene").strip(),
            score_low=_text(form, "score_low").strip(),
            score_high=_text(form, "score_high").strip(),
            criteria=[
                Criterion(name.strip(), description.strip())
                for name, description in zip(names, descriptions, strict=False)
                if name.strip() or description.strip()
            ],
            swap=swap if swap in SWAPS else "default",
            samples=_text(form, "samples").strip(),
            reasons=reasons if (reasons := _text(form, "reasons")) in REASONS else "default",
            agreement_target=_text(form, "agreement_target").strip(),
            delta=_text(form, "delta").strip(),
            system=_text(form, "system"),
            user=_text(form, "user"),
        )

    def item(self) -> JudgeItemBody:
        """The judge item: the fields the person filled in (an empty one is left out, as a caller would)."""
        item: JudgeItemBody = {}
        if self.turns:
            conversation: list[Message] = [{"role": t.role, "content": t.content} for t in self.turns]
            item["question"] = [*conversation, {"role": "user", "content": self.question}]
        elif self.question:
            item["question"] = self.question
        if self.mode == "single":
            if self.answer:
                item["answer"] = self.answer
        else:
            if self.answer1:
                item["answer1"] = self.answer1
            if self.answer2:
                item["answer2"] = self.answer2
        if self.reference:
            item["reference"] = self.reference
        if self.scene:
            item["scene"] = self.scene
        if self.score_low or self.score_high:
            item["score_range"] = [_number(v) for v in (self.score_low, self.score_high) if v]
        if self.criteria:
            item["criteria"] = [
                {"name": c.name, "description": c.description} if c.description else c.name
                for c in self.criteria
            ]
        if self.mode == "pairwise" and self.swap != "default":
            item["swap"] = self.swap == "on"
        if self.reasons != "default":
            item["reasons"] = self.reasons
        if self.samples:
            item["samples"] = _number(self.samples)
        if self.agreement_target:
            item["agreement_target"] = _number(self.agreement_target)
        if self.delta:
            item["delta"] = _number(self.delta)
        item["return_prompt"] = True
        return item

    def body(self) -> ChatBody:
        """The ``POST /v1/chat/completions`` body."""
        messages: list[Message | JudgeMessage] = []
        if self.mode == "custom":
            if self.system:
                messages.append({"role": "system", "content": self.system})
            messages.append({"role": "user", "content": self.user})
            return {"model": self.model, "messages": messages}
        part: JudgePart = {"mode": self.mode, "type": "json", "json": self.item()}
        messages.append({"role": "user", "content": [part]})
        return {"model": self.model, "messages": messages}


def curl_command(body: ChatBody, base_url: str, on_behalf_of: str | None) -> str:
    """The call as a shell command (the key from ``$JURIST_API_KEY``); the body exactly as sent."""
    lines = [
        f"curl -X POST {shlex.quote(base_url + '/chat/completions')}",
        '-H "Authorization: Bearer $JURIST_API_KEY"',
        '-H "Content-Type: application/json"',
    ]
    if on_behalf_of:
        lines.append(f"-H {shlex.quote('X-On-Behalf-Of: ' + on_behalf_of)}")
    lines.append(f"-d {shlex.quote(json.dumps(body, indent=2, ensure_ascii=False))}")
    return " \\\n  ".join(lines)


def _literal(value: object, depth: int) -> str:
    """A JSON value as a Python literal, one key or element a line (strings whole, unlike ``pprint``)."""
    pad, inner = "    " * depth, "    " * (depth + 1)
    if isinstance(value, dict) and value:
        rows = [f"{inner}{key!r}: {_literal(item, depth + 1)}," for key, item in value.items()]
        return "{\n" + "\n".join(rows) + f"\n{pad}}}"
    if isinstance(value, list) and value:
        rows = [f"{inner}{_literal(item, depth + 1)}," for item in value]
        return "[\n" + "\n".join(rows) + f"\n{pad}]"
    return repr(value)


def python_code(body: ChatBody, base_url: str, on_behalf_of: str | None) -> str:
    """The call through the openai SDK (the judge item as the seed's content part)."""
    messages = _literal(body["messages"], 1)
    headers = f", default_headers={{'X-On-Behalf-Of': {on_behalf_of!r}}}" if on_behalf_of else ""
    judged = isinstance(body["messages"][-1]["content"], list)  # a judge item (a custom template: a string)
    lines = [
        "import os",
        "",
        "from openai import OpenAI",
        "",
        f"client = OpenAI(base_url={base_url!r}, api_key=os.environ['JURIST_API_KEY']{headers})",
        "completion = client.chat.completions.create(",
        f"    model={body['model']!r},",
        f"    messages={messages},",
        ")",
        "print(completion.choices[0].message.content)",
    ]
    if judged:
        lines.append("print(completion.judgment)  # Jurist's structured verdict (a dict)")
    return "\n".join(lines) + "\n"
