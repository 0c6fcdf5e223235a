"""text_similarity metrics against the libraries' own values (evals.md §4.3, checklist 21)."""

from __future__ import annotations

import random

import pytest
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from nltk.translate.gleu_score import sentence_gleu
from rapidfuzz import fuzz
from rouge_score.rouge_scorer import RougeScorer

from jurist.evaluation.graders.text_similarity import (
    EMBEDDING_METRICS,
    METRICS,
    ROUGE_TYPES,
    TEXT_METRICS,
    cosine,
    preload,
    similarity,
    tokenize,
)

# NLTK's own doctest pair (bleu_score / meteor_score docs).
HYPOTHESIS = "It is a guide to action which ensures that the military always obeys the commands of the party"
REFERENCE = "It is a guide to action that ensures that the military will forever heed Party commands"
# rouge-score's README pair.
ROUGE_TARGET = "The quick brown fox jumps over the lazy dog"
ROUGE_PREDICTION = "The quick brown dog jumps on the log."

PAIRS = [
    (HYPOTHESIS, REFERENCE),
    (ROUGE_PREDICTION, ROUGE_TARGET),
    ("The cat sat on the mat.", "The cat is on the mat"),
    ("Paris is the capital of France", "The capital of France is Paris"),
    ("jumped over dogs", "jumps over the dog"),
]


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-6, abs=1e-12)


def test_metric_sets_match_the_spec_enum() -> None:
    spec = {"cosine", "fuzzy_match", "bleu", "gleu", "meteor", "rouge_1", "rouge_2", "rouge_3", "rouge_4"}
    assert spec | {"rouge_5", "rouge_l"} == METRICS
    assert sorted(EMBEDDING_METRICS) == ["cosine"]
    assert TEXT_METRICS == METRICS - EMBEDDING_METRICS


# --- documented values -------------------------------------------------------------------------


def test_fuzzy_match_is_rapidfuzz_ratio() -> None:
    # rapidfuzz's documented example: fuzz.ratio("this is a test", "this is a test!") == 96.55…
    assert similarity("fuzzy_match", "this is a test", "this is a test!") == approx(0.9655172413793103)
    assert similarity("fuzzy_match", "Paris", "paris") == approx(0.8)  # case-sensitive, no preprocessing
    for a, b in PAIRS:
        assert similarity("fuzzy_match", a, b) == approx(fuzz.ratio(a, b) / 100)


def test_meteor_matches_nltk_documented_value() -> None:
    # nltk's doctest: round(single_meteor_score(reference1, hypothesis1), 4) == 0.6944
    assert similarity("meteor", HYPOTHESIS, REFERENCE) == approx(0.6944444444444445)


def test_rouge_matches_the_rouge_score_readme() -> None:
    assert similarity("rouge_1", ROUGE_PREDICTION, ROUGE_TARGET) == approx(0.7058823529411765)
    assert similarity("rouge_l", ROUGE_PREDICTION, ROUGE_TARGET) == approx(0.5882352941176471)


# --- the libraries called directly ------------------------------------------------------------


@pytest.mark.parametrize(("hypothesis", "reference"), PAIRS)
def test_bleu_is_nltk_sentence_bleu_with_method1(hypothesis: str, reference: str) -> None:
    expected = sentence_bleu(
        [tokenize(reference)], tokenize(hypothesis), smoothing_function=SmoothingFunction().method1
    )
    assert similarity("bleu", hypothesis, reference) == approx(expected)


@pytest.mark.parametrize(("hypothesis", "reference"), PAIRS)
def test_gleu_is_nltk_sentence_gleu(hypothesis: str, reference: str) -> None:
    expected = sentence_gleu([tokenize(reference)], tokenize(hypothesis))
    assert similarity("gleu", hypothesis, reference) == approx(expected)


@pytest.mark.parametrize(("hypothesis", "reference"), PAIRS)
@pytest.mark.parametrize("metric", sorted(ROUGE_TYPES))
def test_rouge_is_rouge_score_f_measure(metric: str, hypothesis: str, reference: str) -> None:
    # On ASCII text our tokenizer is rouge-score's default one, so the default scorer must agree.
    rouge_type = ROUGE_TYPES[metric]
    expected = RougeScorer([rouge_type]).score(reference, hypothesis)[rouge_type].fmeasure
    assert similarity(metric, hypothesis, reference) == approx(expected)


def test_bleu_pinned_value() -> None:
    # NLTK doctest pair, one reference, lower-cased tokens, smoothing method1.
    assert similarity("bleu", HYPOTHESIS, REFERENCE) == approx(0.4208598069524091)


def test_meteor_uses_stems_but_no_synonyms() -> None:
    assert similarity("meteor", "jumped", "jumps") > 0.0  # Porter stems match
    assert similarity("meteor", "big house", "large home") == 0.0  # no WordNet


# --- properties -------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", sorted(TEXT_METRICS))
@pytest.mark.parametrize(
    "text",
    ["Paris", "a b", "The cat sat on the mat.", "!!!", "東京是日本的首都", "Zürich, die Stadt", HYPOTHESIS],
)
def test_identical_strings_score_one(metric: str, text: str) -> None:
    assert similarity(metric, text, text) == 1.0


@pytest.mark.parametrize("metric", sorted(TEXT_METRICS - {"fuzzy_match"}))
def test_equal_words_score_one(metric: str) -> None:
    # same words after casefolding and dropping punctuation
    assert similarity(metric, "the Cat, sat!", "The cat sat") == 1.0


@pytest.mark.parametrize("metric", sorted(TEXT_METRICS))
def test_empty_inputs(metric: str) -> None:
    assert similarity(metric, "", "") == 1.0
    assert similarity(metric, "", "Paris") == 0.0
    assert similarity(metric, "Paris", "") == 0.0
    if metric != "fuzzy_match":
        assert similarity(metric, "...", "Paris") == 0.0  # no words
        assert similarity(metric, "...", "?!") == 0.0


@pytest.mark.parametrize("metric", sorted(ROUGE_TYPES))
def test_rouge_of_disjoint_texts_is_zero(metric: str) -> None:
    assert similarity(metric, "alpha beta gamma delta epsilon zeta", "one two three four five six") == 0.0


@pytest.mark.parametrize("metric", sorted(TEXT_METRICS))
def test_scores_stay_in_bounds(metric: str) -> None:
    rng = random.Random(7)
    vocabulary = ["the", "cat", "dog", "sat", "on", "a", "mat", "ran", "Cat", "mat.", "über", "—"]
    for _ in range(60):
        a = " ".join(rng.choices(vocabulary, k=rng.randint(0, 12)))
        b = " ".join(rng.choices(vocabulary, k=rng.randint(0, 12)))
        score = similarity(metric, a, b)
        assert isinstance(score, float)
        assert 0.0 <= score <= 1.0, (a, b, score)


def test_tokenize() -> None:
    words = ["the", "cat", "s", "mat", "2", "3", "14", "strasse"]
    assert tokenize("The CAT's mat_2, 3.14 — Straße!") == words
    assert tokenize("  ") == []


def test_unknown_metric_and_cosine_need_other_paths() -> None:
    with pytest.raises(ValueError, match="unknown text_similarity metric 'rouge_6'"):
        similarity("rouge_6", "a", "a")
    with pytest.raises(ValueError, match="embed both texts"):
        similarity("cosine", "a", "a")


def test_cosine() -> None:
    assert cosine([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == approx(1.0)
    assert cosine([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]) == approx(1.0)
    assert cosine([1.0, 0.0], [0.0, 1.0]) == 0.0
    assert cosine([1.0, 1.0], [1.0, 0.0]) == approx(0.7071067811865476)
    assert cosine([1.0, 0.0], [-1.0, 0.0]) == 0.0  # negative cosines are clamped
    assert cosine([0.0, 0.0], [1.0, 0.0]) == 0.0
    assert cosine([1e300, 1e300], [1e300, 1e300]) == approx(1.0)  # no overflow
    assert cosine([1e-300, 2e-300], [1.0, 2.0]) == approx(1.0)
    with pytest.raises(ValueError, match="same non-zero length"):
        cosine([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="same non-zero length"):
        cosine([], [])
    with pytest.raises(ValueError, match="finite"):
        cosine([float("nan"), 1.0], [1.0, 1.0])


def test_preload() -> None:
    preload(["bleu", "rouge_l", "fuzzy_match"])
    preload()
    with pytest.raises(ValueError, match="embed both texts"):
        preload(["cosine"])
    with pytest.raises(ValueError, match="unknown text_similarity metric"):
        preload(["chrf"])
