"""Grading library for the OpenAI Evals API's graders: pure functions, no I/O.

* :mod:`.template` — the ``{{ item.x }}`` / ``{{ sample.output_tools[0].function.name }}`` templating of
  grader strings: render, resolve, list and check variables (``TemplateError``, ``MissingVariable``).
* :mod:`.string_check` — the ``string_check`` grader: ``eq``, ``ne`` (alias ``neq``), ``like``,
  ``ilike``; score 1.0 or 0.0.
* :mod:`.text_similarity` — the ``text_similarity`` metrics (``fuzzy_match`` with rapidfuzz, ``bleu``,
  ``gleu``, ``meteor`` with NLTK, ``rouge_1``…``rouge_5``/``rouge_l`` with rouge-score) in [0, 1], and
  ``cosine`` of two embedding vectors; each scorer choice is documented there.
* :mod:`.formula` — the ``multi`` grader's ``calculate_output``: a whitelisted arithmetic language
  parsed with :mod:`ast`, never executed as Python (``FormulaError``).

Model-backed graders (``score_model``, ``label_model``), embeddings for ``cosine`` and the sandboxed
``python`` grader need I/O and live in the service layer, which calls into this package. The package
imports nothing on import: NLTK and rouge-score load on the first use of a metric that needs them.
"""
