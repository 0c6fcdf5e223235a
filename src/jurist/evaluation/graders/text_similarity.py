"""The ``text_similarity`` grader's metrics: a score in [0, 1] for an input text against a reference.

Upstream (GRADERS) names the metrics and, for ``fuzzy_match``, the library (rapidfuzz); the exact
scorers, tokenisation and smoothing are not documented, so these are ours:

==============  ===========================================================================================
metric          scorer
==============  ===========================================================================================
``fuzzy_match`` ``rapidfuzz.fuzz.ratio(input, reference) / 100``: normalised Indel similarity of the raw
                strings, ``1 - (insertions + deletions) / (len(input) + len(reference))``; case-sensitive,
                no preprocessing, no tokenisation. (Not ``WRatio``/``partial_ratio``: a substring or a
                reordering of the reference does not score 1.)
``bleu``        ``nltk.translate.bleu_score.sentence_bleu([reference], input)``: uniform weights over
                1- to 4-grams, standard brevity penalty, ``SmoothingFunction().method1`` (a zero n-gram
                count becomes 0.1, Chen & Cherry 2014), so a short or partly matching answer scores
                above 0 instead of collapsing to 0.
``gleu``        ``nltk.translate.gleu_score.sentence_gleu([reference], input)``: Google-BLEU
                (Wu et al. 2016), min(precision, recall) over 1- to 4-grams.
``meteor``      ``nltk.translate.meteor_score.single_meteor_score(reference, input)`` with the default
                alpha 0.9, beta 3, gamma 0.5, exact and Porter-stem matching only: WordNet cannot be
                installed here, so the synonym stage is given an empty thesaurus and **synonyms are not
                matched** (upstream METEOR would match ``big``/``large``).
``rouge_1`` …   ``rouge_score.rouge_scorer.RougeScorer`` (Google's ``rouge-score``), **F-measure** of
``rouge_5``     n-gram overlap, n = 1…5, no stemming.
``rouge_l``     the same scorer's ``rougeL`` F-measure (longest common subsequence, no sentence split).
==============  ===========================================================================================

Tokenisation (every metric but ``fuzzy_match``): ``str.casefold()``, then words are maximal runs of
Unicode letters and digits (regex ``[^\\W_]+``); punctuation, underscores and whitespace separate words
and are dropped. On ASCII text this is exactly ``rouge-score``'s default tokenizer (which, unlike this
one, deletes every non-ASCII letter); no NLTK data (punkt) is needed. Text in a script written without
spaces (Chinese, Japanese, Thai) is one word per run.

Edge cases, the same for every metric:

* identical strings score 1.0 (also two empty strings);
* equal word sequences after tokenisation score 1.0. Without this rule METEOR's fragmentation penalty
  (``0.5 / m**3`` for ``m`` words) and ROUGE-N/BLEU on texts shorter than ``N`` words would give a
  short identical answer less than 1 (METEOR of one identical word is 0.5);
* otherwise a side without any word (empty, only spaces or punctuation) scores 0.0.

Scores are clamped into [0, 1]. ``cosine`` is listed in :data:`EMBEDDING_METRICS`: it needs an
embeddings model, so it is not computed from text here; :func:`cosine` scores two embedding vectors.

Cost: ``fuzzy_match`` is a few µs per pair (C++). The NLTK and rouge-score metrics are pure Python,
tens of µs per sentence pair; ``rouge_l`` and ``meteor`` are quadratic in the number of words, so the
caller should bound the input size. NLTK and rouge-score take ~2 s to import: they are imported on
the first use of a metric that needs them, not with this module (:func:`preload` does it up front).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import cache

import numpy as np
from rapidfuzz.fuzz import ratio as _ratio

__all__ = [
    "EMBEDDING_METRICS",
    "METRICS",
    "TEXT_METRICS",
    "cosine",
    "preload",
    "similarity",
    "tokenize",
]

ROUGE_TYPES = {
    "rouge_1": "rouge1",
    "rouge_2": "rouge2",
    "rouge_3": "rouge3",
    "rouge_4": "rouge4",
    "rouge_5": "rouge5",
    "rouge_l": "rougeL",
}
"""Our metric name → the ``rouge-score`` rouge type."""

TEXT_METRICS = frozenset({"fuzzy_match", "bleu", "gleu", "meteor", *ROUGE_TYPES})
"""Metrics :func:`similarity` computes from the two texts."""

EMBEDDING_METRICS = frozenset({"cosine"})
"""Metrics that need embeddings of the two texts (see :func:`cosine`)."""

METRICS = TEXT_METRICS | EMBEDDING_METRICS
"""Every ``evaluation_metric`` of the SPEC enum."""

_WORD_RE = re.compile(r"[^\W_]+")

_TokenScorer = Callable[[list[str], list[str]], float]
"""Scores input words against reference words (both non-empty, not equal)."""


def tokenize(text: str) -> list[str]:
    """The words of ``text`` as the token metrics see them (see the module docstring)."""
    return _WORD_RE.findall(text.casefold())


class _NoSynonyms:
    """Stands in for NLTK's WordNet reader in METEOR: no word has a synonym set."""

    def synsets(self, *_args: object, **_kwargs: object) -> list[object]:
        return []


class _Words:
    """A ``rouge-score`` tokenizer object that uses :func:`tokenize`."""

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text)


@cache
def _nltk_scorers() -> dict[str, _TokenScorer]:
    """BLEU, GLEU and METEOR, built once (NLTK's import is slow, so it happens on first use)."""
    from nltk.stem.porter import PorterStemmer  # type: ignore[import-untyped]
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu  # type: ignore[import-untyped]
    from nltk.translate.gleu_score import sentence_gleu  # type: ignore[import-untyped]
    from nltk.translate.meteor_score import single_meteor_score  # type: ignore[import-untyped]

    smoothing = SmoothingFunction().method1
    stemmer = PorterStemmer()
    no_synonyms = _NoSynonyms()

    def bleu(words: list[str], reference: list[str]) -> float:
        return float(sentence_bleu([reference], words, smoothing_function=smoothing))

    def gleu(words: list[str], reference: list[str]) -> float:
        return float(sentence_gleu([reference], words))

    def meteor(words: list[str], reference: list[str]) -> float:
        return float(
            single_meteor_score(reference, words, preprocess=str, stemmer=stemmer, wordnet=no_synonyms)
        )

    return {"bleu": bleu, "gleu": gleu, "meteor": meteor}


@cache
def _rouge_scorer(metric: str) -> _TokenScorer:
    """The F-measure of one ROUGE type, its ``RougeScorer`` built once."""
    from rouge_score.rouge_scorer import RougeScorer  # type: ignore[import-untyped]

    rouge_type = ROUGE_TYPES[metric]
    scorer = RougeScorer([rouge_type], use_stemmer=False, tokenizer=_Words())
    joined = " ".join  # words have no spaces, and re-tokenising the joined words gives them back

    def rouge(words: list[str], reference: list[str]) -> float:
        return float(scorer.score(joined(reference), joined(words))[rouge_type].fmeasure)

    return rouge


def _token_scorer(metric: str) -> _TokenScorer:
    if metric in ROUGE_TYPES:
        return _rouge_scorer(metric)
    return _nltk_scorers()[metric]


def preload(metrics: Iterable[str] = TEXT_METRICS) -> None:
    """Import the libraries and build the scorers of ``metrics`` now rather than on first use (about
    2 s for the NLTK and rouge-score ones), e.g. when a service starts."""
    for metric in metrics:
        if metric not in TEXT_METRICS:
            raise _unknown(metric)
        if metric != "fuzzy_match":
            _token_scorer(metric)


def _unknown(metric: str) -> ValueError:
    if metric in EMBEDDING_METRICS:
        return ValueError(f"'{metric}' compares embeddings, not texts: embed both texts and call cosine()")
    return ValueError(f"unknown text_similarity metric '{metric}': use one of {', '.join(sorted(METRICS))}")


def similarity(metric: str, input: str, reference: str) -> float:
    """The ``metric`` score of ``input`` against ``reference``, in [0, 1] (see the module docstring).

    Raises ``ValueError`` for an unknown metric and for ``cosine`` (which needs embeddings)."""
    if metric == "fuzzy_match":
        return _ratio(input, reference) / 100.0
    if metric not in TEXT_METRICS:
        raise _unknown(metric)
    if input == reference:
        return 1.0
    words, reference_words = tokenize(input), tokenize(reference)
    if not words or not reference_words:
        return 0.0
    if words == reference_words:
        return 1.0
    score = _token_scorer(metric)(words, reference_words)
    return min(1.0, max(0.0, score))


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two embedding vectors, clamped into [0, 1].

    Upstream does not say how a negative cosine is reported; it is clamped to 0.0 here so the score
    stays in the grader's range. A zero vector scores 0.0. Raises ``ValueError`` for vectors of
    different or zero length, or with a non-finite element."""
    va = np.asarray(a, dtype=np.float64)
    vb = np.asarray(b, dtype=np.float64)
    if va.ndim != 1 or vb.ndim != 1 or va.size != vb.size or va.size == 0:
        raise ValueError(
            f"cosine needs two vectors of the same non-zero length, got {va.shape} and {vb.shape}"
        )
    if not (np.isfinite(va).all() and np.isfinite(vb).all()):
        raise ValueError("cosine needs finite vector elements")
    scale_a, scale_b = float(np.abs(va).max()), float(np.abs(vb).max())
    if scale_a == 0.0 or scale_b == 0.0:
        return 0.0
    va, vb = va / scale_a, vb / scale_b  # cosine is scale-free; this keeps the norms from overflowing
    value = float(np.dot(va, vb) / (np.linalg.norm(va) * np.linalg.norm(vb)))
    return min(1.0, max(0.0, value))
