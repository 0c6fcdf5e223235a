"""The comparison page's form that starts a head-to-head run of the two runs compared: the judge model
(the configured ones), the question template (``{{item.question}}`` offered when the base run was not
sampled from messages: a jsonl run has no question of its own) and a name. It posts to
``/console/evals/{eval_id}/head_to_head`` (``compare_page.start_head_to_head``), which calls the same
use case as ``POST /v1/evals/{eval_id}/runs/head_to_head``; a form the use case refuses comes back with
its message and the values as given."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from jurist.errors import JuristError
from jurist.protocol.json_types import JSONObject
from jurist.store.eval_records import EvalRunRecord

QUESTION = "{{item.question}}"
FIELDS = ("model", "question", "name")


@dataclass(frozen=True)
class Posted:
    """A form the use case refused: the values as given and why."""

    values: Mapping[str, str]
    error: JuristError


@dataclass(frozen=True)
class StartForm:
    """The form as shown: where it posts, the runs it pairs, the models offered and the values."""

    action: str
    base: str
    candidate: str
    models: list[str]
    model: str
    question: str
    name: str
    error: JuristError | None = None


def sampled_from_messages(run: EvalRunRecord | None) -> bool:
    """Whether ``run`` sampled its answers from messages (a ``completions`` run: its rows carry the
    question the judge is shown by default)."""
    source = run.body.get("data_source") if run is not None else None
    return isinstance(source, dict) and source.get("type") == "completions"


def start_form(
    eval_id: str,
    base: str,
    candidate: str,
    base_run: EvalRunRecord | None,
    models: Collection[str],
    posted: Posted | None = None,
) -> StartForm | None:
    """The form for the runs ``base`` and ``candidate`` (None until both are chosen) with its defaults,
    or the values ``posted`` (their runs included), shown again with the error that refused them."""
    offered = sorted(models)
    action = f"/console/evals/{eval_id}/head_to_head"
    if posted is not None:
        v = {k: posted.values.get(k, "") for k in ("base", "candidate", *FIELDS)}
        return StartForm(action, v["base"], v["candidate"], offered, v["model"], v["question"], v["name"],
                         posted.error)  # fmt: skip
    if not (base and candidate):
        return None
    question = "" if sampled_from_messages(base_run) else QUESTION
    return StartForm(action, base, candidate, offered, offered[0] if offered else "", question, "")


def posted_values(form: Mapping[str, object]) -> dict[str, str]:
    """The form's text fields (a file or a missing field is "")."""
    keys = ("base", "candidate", *FIELDS, "margin", "alpha", "criterion", "allow_mismatch", "show")
    return {k: v if isinstance(v := form.get(k), str) else "" for k in keys}


def start_body(values: Mapping[str, str]) -> JSONObject:
    """The request ``create_head_to_head`` takes: the runs and the judge, and the question and the name
    when given (a blank question is left out: the use case then asks for one when the base run needs it)."""
    body: JSONObject = {"base": values.get("base", ""), "candidate": values.get("candidate", ""),
                        "model": values.get("model", "")}  # fmt: skip
    for key in ("question", "name"):
        text = values.get(key, "").strip()
        if text:
            body[key] = values.get(key, "") if key == "question" else text
    return body
