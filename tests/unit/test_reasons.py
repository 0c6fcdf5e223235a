"""Verdict length as a choice (``reasons``): what the judge is asked for, how its answer is read, and
the PAI text rendered from it, for ``full`` (today's), ``short`` and ``none`` (scores only)."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest

from jurist.judging.judgment import Context, Game, decide
from jurist.judging.parsing import parse_verdict
from jurist.judging.prompts import build_task
from jurist.judging.render import render
from jurist.judging.verdict import SHORT_REASON_CHARS, PairwiseVerdict, ScoreScale, SingleVerdict
from jurist.protocol.items import PairwiseItem, SingleItem
from jurist.settings import JudgingPolicy, LlamaCppModelConfig
from tests.support.verdicts import SEED_PAIR_SCORES, SEED_PAIR_WINNER, SEED_SINGLE_SCORE

CRITERIA = ["Accuracy", "Timeliness"]
SINGLE = SingleItem(question="What is 7+5?", answer="12", criteria=CRITERIA)
PAIR = PairwiseItem(question="What is 7+5?", answer1="12", answer2="75", criteria=CRITERIA)


def _strings(schema: Any) -> list[str]:
    """The property names of every string in a schema."""
    found: list[str] = []
    if isinstance(schema, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if isinstance(sub, dict) and sub.get("type") == "string" and "enum" not in sub:
                found.append(name)
            found += _strings(sub)
    return found


@pytest.mark.parametrize("item", [SINGLE, PAIR])
def test_none_asks_for_a_schema_without_reasons_or_summary(item: SingleItem | PairwiseItem) -> None:
    full: Any = build_task(item, 120).schema
    none: Any = build_task(item, 120, "none").schema
    assert sorted(set(_strings(full))) == ["reason", "summary"]
    assert _strings(none) == []
    assert "summary" not in none["properties"]
    per = none["properties"]["criteria"]["properties"]["Accuracy"]
    assert "reason" not in per["properties"] and "reason" not in per["required"]


@pytest.mark.parametrize("item", [SINGLE, PAIR])
def test_short_caps_every_reason_where_the_backend_enforces_it(item: SingleItem | PairwiseItem) -> None:
    short: Any = build_task(item, 120, "short").schema
    per = short["properties"]["criteria"]["properties"]["Accuracy"]
    assert per["properties"]["reason"]["maxLength"] == SHORT_REASON_CHARS == 80
    assert short["properties"]["summary"]["maxLength"] == 2 * SHORT_REASON_CHARS
    assert build_task(item, 40, "short").schema == build_task(item, 40).schema  # a lower cap stays
    unenforced = build_task(item, None, "short").schema  # a remote backend: the prompt asks
    assert "maxLength" not in json.dumps(unenforced)


def test_full_is_the_default_everywhere() -> None:
    assert build_task(PAIR, 120) == build_task(PAIR, 120, "full")
    assert JudgingPolicy().reasons == "full" and PAIR.reasons is None


@pytest.mark.parametrize("item", [SINGLE, PAIR])
def test_prompts_ask_for_what_the_schema_holds(item: SingleItem | PairwiseItem) -> None:
    full, short, none = (build_task(item, None, r).messages[0]["content"] for r in ("full", "short", "none"))
    assert "give a short reason, then an integer score" in full and "one-paragraph summary" in full
    assert "a reason of one short sentence" in short and "one-sentence summary" in short
    assert "only an integer score, no reason" in none
    assert "reason" not in none.replace("no reason", "") and "summary" not in none
    shape = none.split("\n\nCriteria:\n")[0]  # the reply's form, then the criteria and the fences
    assert shape.endswith('"winner": "response_1" | "response_2" | "tie"}') or shape.endswith(
        '"overall_score": <integer>}'
    )
    assert build_task(item, None, "none").messages[1] == build_task(item).messages[1]  # the same item


def test_a_scores_only_answer_is_read_as_a_verdict_with_empty_reasons() -> None:
    task = build_task(PAIR, 120, "none")
    answer = {
        "criteria": {n: {"response_1_score": 5, "response_2_score": 1} for n in ["Accuracy", "Timeliness"]},
        "response_1_score": 5,
        "response_2_score": 1,
        "winner": "response_1",
    }
    verdict, how, _ = parse_verdict(json.dumps(answer), task)
    assert how == "json" and isinstance(verdict, PairwiseVerdict)
    assert verdict.winner == "response_1" and verdict.summary == ""
    assert [(c.reason, c.score1, c.score2) for c in verdict.criteria] == [("", 5, 1), ("", 5, 1)]


def test_reasons_written_anyway_are_dropped_when_none_was_asked() -> None:
    """A backend that does not enforce the schema may still write reasons: scores only were asked for."""
    answer = {
        "criteria": {"Accuracy": {"reason": "Right.", "score": 5}},
        "summary": "Good.",
        "overall_score": 5,
    }
    verdict, _, _ = parse_verdict(json.dumps(answer), build_task(SINGLE, None, "none"))
    assert isinstance(verdict, SingleVerdict) and verdict.summary == ""
    assert all(c.reason == "" for c in verdict.criteria)
    kept, _, _ = parse_verdict(json.dumps(answer), build_task(SINGLE, None, "short"))
    assert isinstance(kept, SingleVerdict) and kept.summary == "Good."


def test_scores_only_text_keeps_the_seed_patterns_and_reads_back() -> None:
    task = build_task(PAIR, None, "none")
    verdict, _, _ = parse_verdict(
        '{"criteria": {"Accuracy": {"response_1_score": 4, "response_2_score": 2}, '
        '"Timeliness": {"response_1_score": null, "response_2_score": null}}, '
        '"response_1_score": 4, "response_2_score": 2, "winner": "response_1"}',
        task,
    )
    assert verdict is not None
    text = render(verdict, "pairwise", task.scale, "en", "none")
    assert text == (
        "***\nI think [[Response 1 is better]]. The overall score for Response 1 is [[4]], and the overall "
        "score for Response 2 is [[2]]. The scores per criterion are as follows:\n"
        "1. Accuracy: [[Response 1 score: 4]] [[Response 2 score: 2]]\n"
        "2. Timeliness: [[Response 1 score: N/A]] [[Response 2 score: N/A]]\n***"
    )
    winner, scores = SEED_PAIR_WINNER.search(text), SEED_PAIR_SCORES.search(text)
    assert winner and winner.group(1) == "Response 1 is better"
    assert scores and scores.groups() == ("4", "2")
    again, how, _ = parse_verdict(text, task)  # Jurist's own text parser reads it back
    assert how == "text" and again == verdict


def test_single_scores_only_text() -> None:
    task = build_task(SINGLE, None, "none")
    verdict, _, _ = parse_verdict(
        '{"criteria": {"Accuracy": {"score": 5}, "Timeliness": {"score": 2}}, "overall_score": 4}', task
    )
    assert verdict is not None
    text = render(verdict, "single", ScoreScale(), "en", "none")
    assert text == (
        "I think the overall score for this response is [[4]]. The scores per criterion are as follows.\n"
        "Strengths of the current response:\n1. Accuracy: [[5]]\n\n"
        "Weaknesses of the current response:\n1. Timeliness: [[2]]"
    )
    first = SEED_SINGLE_SCORE.search(text)
    assert first and first.group(1) == "4"
    assert parse_verdict(text, task)[0] == verdict
    zh = render(verdict, "single", ScoreScale(), "zh", "none")
    assert zh.startswith("我认为该回答的总体评分为[[4]]。各评估维度的评分如下。")


def test_the_judgment_of_a_scores_only_verdict_has_no_summary() -> None:
    verdict = PairwiseVerdict("response_2", 2, 4, [], "")
    games = [Game("as_given", 0, verdict, "json", 1)]
    none = decide(Context("pairwise", ScoreScale(), "open_qa", "en", reasons="none"), games).judgment
    full = decide(Context("pairwise", ScoreScale(), "open_qa", "en"), games).judgment
    assert none.summary is None and full.summary == ""
    assert none.winner == full.winner == "response_2"


def test_a_bad_reasons_value_is_rejected_naming_the_field() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        SingleItem.model_validate({"question": "q", "answer": "a", "reasons": "brief"})
    assert caught.value.errors()[0]["loc"] == ("reasons",)
    with pytest.raises(pydantic.ValidationError):
        JudgingPolicy.model_validate({"reasons": "brief"})


def test_the_model_default_is_part_of_its_cache_identity() -> None:
    from jurist.service.judging.cache import cache_key

    def body(**item: str) -> dict[str, Any]:
        fields = {"question": "q", "answer": "a", **item}
        return {
            "model": "pai-judge",
            "messages": [{"role": "user", "content": [{"mode": "single", "json": fields}]}],
        }

    choices = ("full", "short", "none")
    by_default = {cache_key(body(), LlamaCppModelConfig(judging=JudgingPolicy(reasons=r))) for r in choices}
    by_item = {cache_key(body(reasons=r), LlamaCppModelConfig()) for r in choices}
    assert len(by_default) == len(by_item) == 3
