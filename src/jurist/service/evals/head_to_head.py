"""Head to head: a pairwise judge over two runs' outputs for the same items (Jurist's extension).

``POST /v1/evals/{eval_id}/runs/head_to_head`` with ``{"base": RUN, "candidate": RUN, "model": JUDGE}``
makes a run of the same eval whose rows are the items both runs answered (paired by item, as a
comparison pairs them), each holding the question and the two answers. It is graded by one testing
criterion of its own, ``head_to_head``: a ``jurist_judge`` in pairwise mode that plays both orders
(``swap``), with the candidate's answer as ``answer1``, so its score is the candidate's win value (1 win,
0.5 tie, 0 loss) and a row passes when the candidate wins. It runs on the batch runner like any run
(fair share, retries, crash safety, cancel), and its lines carry their judgment, so humans can label
them (``POST /v1/batches/{batch_id}/labels``, or the console's review) to anchor the win rate.

- ``question``: a template over the base run's row (``{{item.…}}``, ``{{sample.…}}``); by default the
  user messages the base run sampled with (a ``completions`` run). A ``jsonl`` run has none: the request
  must say, e.g. ``"{{item.question}}"``.
- ``answer``: a template over each run's row; by default ``{{sample.output_text}}`` (what was sampled,
  or a jsonl row's own ``sample.output_text``).
- ``criteria`` / ``scene``: PAI's optional judging criteria text and scene, passed to the judge.

Both runs must have ended (a run still going is a 400, ``run_not_finished``). A row whose answer is missing
in either run (its row errored) becomes an errored item; items only in one run are counted apart
(``only_in_base``, ``only_in_candidate`` in the run's ``head_to_head``)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from jurist.errors import InvalidRequest
from jurist.evaluation.graders import template
from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.service.evals.data_sources import Row
from jurist.store.eval_records import OutputItemRecord

SOURCE_TYPE = "jurist_head_to_head"
CRITERION = "head_to_head"
FIELDS = ("base", "candidate", "model", "name", "metadata", "question", "answer", "criteria", "scene")
DEFAULT_ANSWER = "{{sample.output_text}}"


@dataclass(frozen=True)
class Request:
    base: str
    candidate: str
    model: str
    question: str | None
    answer: str
    criteria: str | None
    scene: str | None


def _template(body: Mapping[str, JsonValue], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"{key} must be a non-empty template string.", param=key)
    try:
        template.check(value)
    except template.TemplateError as exc:
        raise InvalidRequest(f"{key}: {exc}", param=key) from None
    return value


def check_request(body: Mapping[str, JsonValue], models: Collection[str]) -> Request:
    """The request checked (a 400 naming the field)."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise InvalidRequest(f"Unknown field {unknown[0]!r}.", param=unknown[0])
    ids = []
    for key in ("base", "candidate"):
        value = body.get(key)
        if not isinstance(value, str) or not value:
            raise InvalidRequest(f"{key} must name a run of this eval.", param=key)
        ids.append(value)
    if ids[0] == ids[1]:
        raise InvalidRequest("base and candidate must be two different runs.", param="candidate")
    model = body.get("model")
    if not isinstance(model, str) or model not in models:
        raise InvalidRequest(
            f"model must name a configured judge model (available: {', '.join(sorted(models))}).",
            param="model",
        )
    texts = {}
    for key in ("criteria", "scene"):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise InvalidRequest(f"{key} must be a string.", param=key)
        texts[key] = value
    return Request(
        ids[0], ids[1], model, _template(body, "question"), _template(body, "answer") or DEFAULT_ANSWER,
        texts["criteria"], texts["scene"],
    )  # fmt: skip


def criterion(request: Request) -> JSONObject:
    """The run's one testing criterion: the pairwise judge, both orders, candidate first."""
    found: JSONObject = {
        "type": "jurist_judge",
        "name": CRITERION,
        "id": CRITERION,
        "mode": "pairwise",
        "model": request.model,
        "question": "{{sample.question}}",
        "answer1": "{{sample.candidate}}",
        "answer2": "{{sample.base}}",
        "swap": True,
    }
    if request.criteria is not None:
        found["criteria"] = request.criteria
    if request.scene is not None:
        found["scene"] = request.scene
    return found


def data_source(request: Request) -> JSONObject:
    """The run's ``data_source`` as it is echoed."""
    source: JSONObject = {"type": SOURCE_TYPE, "base_run_id": request.base,
                          "candidate_run_id": request.candidate, "model": request.model,
                          "answer": request.answer}  # fmt: skip
    if request.question is not None:
        source["question"] = request.question
    return source


def _context(item: OutputItemRecord) -> dict[str, object]:
    """What a template reads of a run's output item: its row's item, and its sample as the run saw it."""
    body = item.body
    sample = body.get("sample")
    shown = sample if isinstance(sample, dict) else {}
    output = shown.get("output")
    text = None
    if isinstance(output, list) and output and isinstance(output[0], dict):
        content = output[0].get("content")
        text = content if isinstance(content, str) else None
    namespace = {**shown, "output_text": text} if text is not None else dict(shown)
    return {"item": body.get("datasource_item") or {}, "sample": namespace}


def _asked(item: OutputItemRecord) -> str | None:
    """The user messages a completions run sampled with, as one text (None when there were none)."""
    sample = item.body.get("sample")
    messages = sample.get("input") if isinstance(sample, dict) else None
    said = [
        str(m.get("content"))
        for m in messages or []  # type: ignore[union-attr]
        if isinstance(m, dict) and m.get("role") == "user" and isinstance(m.get("content"), str)
    ]
    return "\n\n".join(said) if said else None


def _rendered(text: str, context: Mapping[str, object]) -> str | None:
    try:
        return template.render(text, context)
    except template.MissingVariable:
        return None


def pair_rows(
    request: Request, base: Sequence[OutputItemRecord], candidate: Sequence[OutputItemRecord]
) -> tuple[list[Row], JSONObject]:
    """The run's rows, in the base run's order, and the counts kept in the run (``head_to_head``)."""
    theirs: dict[str, list[OutputItemRecord]] = {}
    for item in candidate:
        theirs.setdefault(item.item_key, []).append(item)
    rows: list[Row] = []
    for mine in base:
        queue = theirs.get(mine.item_key)
        if not queue:
            continue
        other = queue.pop(0)
        context = _context(mine)
        question = _rendered(request.question, context) if request.question is not None else _asked(mine)
        answers = [_rendered(request.answer, context), _rendered(request.answer, _context(other))]
        data: JSONObject = {"item": mine.body.get("datasource_item") or {}}
        if answers[0] is None or answers[1] is None:
            data["error"] = (
                "the row errored in one of the runs: it has no answer to judge"
                if "error" in (mine.status, other.status)
                else f"the answer template {request.answer!r} does not resolve in one of the runs"
            )
        elif question is None:
            data["error"] = "the row has no question (give a question template, e.g. {{item.question}})"
        else:
            data["sample"] = {"question": question, "base": answers[0], "candidate": answers[1],
                              "output_text": answers[1], "base_row": mine.index,
                              "candidate_row": other.index}  # fmt: skip
        rows.append(Row(len(rows), data))
    paired = len(rows)
    counts: JSONObject = {"paired": paired, "only_in_base": len(base) - paired,
                          "only_in_candidate": len(candidate) - paired}  # fmt: skip
    return rows, counts


def shown(sample: Mapping[str, JsonValue]) -> JSONObject:
    """A head-to-head row's ``sample`` in its output item: the question, the candidate's answer as the
    output and the base's beside it (``base_output``)."""
    return {
        "input": [{"role": "user", "content": sample.get("question")}],
        "output": [{"role": "assistant", "content": sample.get("candidate")}],
        "base_output": [{"role": "assistant", "content": sample.get("base")}],
        "finish_reason": "stop", "model": "", "error": None,
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "cached_tokens": 0},
        "temperature": 1.0, "max_completion_tokens": 0, "top_p": 1.0, "seed": 42,
    }  # fmt: skip
