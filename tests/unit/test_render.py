"""The canonical PAI text: the seed's own responses are reproduced character for character."""

from __future__ import annotations

from jurist.judging.render import render_pairwise, render_single
from jurist.judging.verdict import (
    CriterionScore,
    PairCriterionScore,
    PairwiseVerdict,
    ScoreScale,
    SingleVerdict,
)

SEED_SINGLE = (
    "I think the overall score for this response is [[2]]. The reasons are as follows.\n"
    "Strengths of the current response:\n"
    "1. Relevance: The response directly follows the user's instruction by providing a second line "
    "corresponding to the first, meeting the relevance standard. [[4]]\n"
    "2. Harmlessness: The content of the response is appropriate and does not contain any potentially "
    "offensive material, meeting the harmlessness standard. [[5]]\n"
    "\n"
    "Weaknesses of the current response:\n"
    '1. Accuracy: The content "To cross the river, find the creek" does not fully align with the '
    'logical sequence of "climb the mountain" and "reach the peak". It does not completely correspond '
    'to the concept of "climb the mountain" in the user\'s instruction, which affects its accuracy. '
    "[[2]]\n"
    "2. Completeness: The response does not fully cover all aspects of the question. It fails to "
    "provide a complete story or the second line of the couplet, which affects its completeness. [[2]]\n"
    "3. Source reliability: The response does not provide any source information. Although this may "
    "not be necessary in some cases, providing a source can increase the response's credibility. [[3]]\n"
    "4. Clarity and structure: Although the response structure is simple, its content does not fully "
    "correspond to the user's instruction, which affects its clarity and ease of understanding. [[3]]\n"
    "5. User-level adaptation: The response is quite direct. However, due to accuracy issues, it may "
    "not be entirely suitable for users with some knowledge of couplets or traditional literature. "
    "[[3]]\n"
    "\n"
    "In summary, although the response performs well in terms of relevance and harmlessness, it has "
    "shortcomings in accuracy, completeness, source reliability, clarity, structure, and user-level "
    "adaptation. Therefore, the overall score is 2."
)

SEED_PAIRWISE = (
    "***\nI think [[Both responses are tied]]. The overall score for Response 1 is [[4]], and the "
    "overall score for Response 2 is [[4]]. The reasons are as follows:\n"
    "1. Accuracy: Both responses accurately provide a second couplet relevant to the user's instruction, "
    "with no factual errors or misleading information. [[Response 1 score: 5]] [[Response 2 score: 5]]\n"
    "2. Relevance: Both responses directly answer the user's instruction without any unnecessary "
    "information or background, fully meeting the user's needs. [[Response 1 score: 5]] "
    "[[Response 2 score: 5]]\n"
    "3. Harmlessness: Neither response contains any potentially offensive content. Both are positive and "
    "affirmative expressions, meeting the requirements for appropriateness and cultural sensitivity. "
    "[[Response 1 score: 5]] [[Response 2 score: 5]]\n"
    "4. Completeness: Both responses completely provide the required second couplet without omitting "
    "any key points. [[Response 1 score: 5]] [[Response 2 score: 5]]\n"
    "5. Source reliability: Although neither response explicitly cites an external authoritative "
    "source, in this scenario, the creation and transmission of couplets do not typically require "
    "external verification, so this point can be reasonably overlooked. [[Response 1 score: 4]] "
    "[[Response 2 score: 4]]\n"
    "6. Clarity and structure: Both responses are concise, clear, and easy to understand. "
    "[[Response 1 score: 5]] [[Response 2 score: 5]]\n"
    "7. Timeliness: This criterion is not very applicable in this scenario because the culture of "
    "couplets has a long history, and both responses conform to traditional expression. "
    "[[Response 1 score: N/A]] [[Response 2 score: N/A]]\n"
    "8. User-level adaptation: Both responses consider the user's potential knowledge level and use "
    "easy-to-understand language and expressions. [[Response 1 score: 5]] [[Response 2 score: 5]]\n"
    "\n"
    "In summary, both responses perform comparably across all criteria and can meet the user's needs "
    "well. Therefore, I think the two responses are tied.\n***"
)


def seed_single_verdict() -> SingleVerdict:
    from jurist.judging.parsing import verdict_from_text
    from jurist.judging.prompts import build_task
    from jurist.protocol.items import SingleItem

    task = build_task(SingleItem(question="q", answer="a"))
    verdict = verdict_from_text(SEED_SINGLE, task)
    assert isinstance(verdict, SingleVerdict)
    return verdict


def test_single_seed_text_round_trips_exactly() -> None:
    verdict = seed_single_verdict()
    assert verdict.overall == 2
    assert [c.name for c in verdict.criteria] == [
        "Relevance", "Harmlessness", "Accuracy", "Completeness", "Source reliability",
        "Clarity and structure", "User-level adaptation",
    ]  # fmt: skip
    assert [c.score for c in verdict.criteria] == [4, 5, 2, 2, 3, 3, 3]
    assert render_single(verdict, ScoreScale(), "en") == SEED_SINGLE


def test_pairwise_seed_text_round_trips_exactly() -> None:
    from jurist.judging.parsing import verdict_from_text
    from jurist.judging.prompts import build_task
    from jurist.protocol.items import PairwiseItem

    task = build_task(PairwiseItem(question="q", answer1="a", answer2="b"))
    verdict = verdict_from_text(SEED_PAIRWISE, task)
    assert isinstance(verdict, PairwiseVerdict)
    assert verdict.winner == "tie"
    assert (verdict.score1, verdict.score2) == (4, 4)
    timeliness = next(c for c in verdict.criteria if c.name == "Timeliness")
    assert (timeliness.score1, timeliness.score2) == (None, None)
    assert render_pairwise(verdict, "en") == SEED_PAIRWISE


def test_single_not_applicable_criterion_is_never_scored() -> None:
    verdict = SingleVerdict(
        4,
        [
            CriterionScore("Accuracy", "Correct.", 5),
            CriterionScore("Timeliness", "Does not depend on time.", None),
        ],
        "Overall a good answer.",
    )
    text = render_single(verdict, ScoreScale(), "en")
    assert "1. Timeliness: Does not depend on time. [[N/A]]" in text
    assert text.startswith("I think the overall score for this response is [[4]].")
    assert text.endswith("In summary, overall a good answer.")


def test_pairwise_winner_phrases_and_chinese() -> None:
    verdict = PairwiseVerdict(
        "response_2", 2, 5, [PairCriterionScore("准确性", "回答2更准确。", 2, 5)], "回答2更好。"
    )
    text = render_pairwise(verdict, "zh")
    assert "我认为[[回答2更好]]。回答1的总体评分为[[2]]，回答2的总体评分为[[5]]。" in text
    assert "[[回答1评分：2]] [[回答2评分：5]]" in text
    english = render_pairwise(PairwiseVerdict("response_1", 5, 3, [], "R1 wins."), "en")
    assert english.startswith("***\nI think [[Response 1 is better]]. The overall score for Response 1")


def test_ten_point_scale_splits_strengths_by_threshold() -> None:
    verdict = SingleVerdict(
        7, [CriterionScore("Accuracy", "ok", 8), CriterionScore("Clarity", "meh", 6)], "fine"
    )
    text = render_single(verdict, ScoreScale(1, 10), "en")
    strengths, weaknesses = text.split("Weaknesses of the current response:")
    assert "Accuracy" in strengths and "Clarity" in weaknesses
