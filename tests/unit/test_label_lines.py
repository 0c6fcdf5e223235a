"""Reading a batch's judged lines for labels: only the wanted custom_ids are parsed, and a custom_id is
read from the line's head however it is escaped."""

from __future__ import annotations

import orjson

from jurist.runner.execute import output_line, output_line_bytes
from jurist.service.trust.labels import _custom_id, _judged
from jurist.service.trust.line_facts import Kind, Verdict, facts_of, facts_of_text

JUDGMENT = {"mode": "pairwise", "scored": True, "winner": "response_1", "parsed_by": "json"}


def line(custom_id: str) -> bytes:
    body = {"model": "pai-judge", "judgment": JUDGMENT, "choices": []}
    return output_line_bytes("batch_req_x", custom_id, "req_1", 200, orjson.dumps(body))


def test_the_custom_id_is_read_from_the_head_of_a_line_however_escaped() -> None:
    for custom_id in ("plain", 'quo"te', "back\\slash", "中文", "new\nline"):
        assert _custom_id(line(custom_id)) == custom_id
    assert _custom_id(b'{"custom_id":"first","id":"x"}') is None  # not Jurist's order: parsed whole


def test_only_the_wanted_lines_are_judged_and_others_are_skipped() -> None:
    raws = [line(f"c{i}") for i in range(5)]
    raws.append(output_line("c9", "req", 200, {"model": "m", "judgment": JUDGMENT}).encode())
    raws += [b"", b"{not json", orjson.dumps({"custom_id": "odd", "response": None})]
    assert sorted(_judged(raws, None)) == ["c0", "c1", "c2", "c3", "c4", "c9"]
    assert sorted(_judged(raws, {"c1", "c9", "missing"})) == ["c1", "c9"]
    model, judgment = _judged(raws, {"c2"})["c2"]
    assert model == "pai-judge" and judgment.mode == "pairwise" and judgment.winner == "response_1"


def test_line_facts_hold_the_judged_lines_their_kinds_and_verdicts() -> None:
    raws = [line(f"c{i}") for i in range(3)]
    single = {"mode": "single", "scored": True, "overall_score": 4, "score_range": [1, 10],
              "criteria": [{"name": "Accuracy", "score": 4}], "confidence": 0.7, "parsed_by": "json"}  # fmt: skip
    raws.append(output_line("s", "req", 200, {"model": "m", "judgment": single}).encode())
    raws += [b"", b"{not json", orjson.dumps({"custom_id": "odd", "response": None})]
    found = facts_of(raws)
    assert sorted(found) == ["c0", "c1", "c2", "s"]
    assert found["c0"].kind == Kind("pairwise") and found["c0"].verdicts[0].verdict == "response_1"
    assert found["s"].kind == Kind("single", (1, 10), ("Accuracy",))
    assert found["s"].verdicts == (Verdict("m", 0.7, 4),) and not found["s"].cascade
    assert facts_of_text(b"\n".join(raws)) == found  # what the worker process is sent
