"""Where the engine pauses a prompt's evaluation to keep a prefix (llama_prefix.PrefixCache.plan): the
copying itself runs on the real model (tests/api/test_embedded_engine.py)."""

from __future__ import annotations

import numpy as np

from jurist.backends.llama_prefix import MIN_PREFIX, PrefixCache, common_prefix

INSTRUCTIONS = list(range(1000, 1300))  # 300 tokens every item shares


def prompt(*parts: list[int]) -> np.ndarray:  # type: ignore[type-arg]
    return np.asarray([t for part in parts for t in part], dtype=np.int32)


def item(k: int, n: int = 80) -> list[int]:
    return [5000 + 100 * k + i for i in range(n)]


def test_common_prefix() -> None:
    assert common_prefix(prompt([1, 2, 3]), prompt([1, 2, 4])) == 2
    assert common_prefix(prompt([1, 2]), prompt([1, 2, 4])) == 2
    assert common_prefix(prompt([9]), prompt([1])) == 0


def test_the_first_prompt_pauses_where_the_prompts_queued_behind_it_part() -> None:
    cache = PrefixCache(memory=None, first_seq=8, capacity=4)
    first, second = prompt(INSTRUCTIONS, item(1)), prompt(INSTRUCTIONS, item(2))
    assert cache.plan(first, [second]) == (None, 0, [len(INSTRUCTIONS)])


def test_a_swap_pair_pauses_at_the_instructions_and_at_the_question() -> None:
    cache = PrefixCache(memory=None, first_seq=8, capacity=4)
    question = item(7, 60)
    game1 = prompt(INSTRUCTIONS, question, item(1), item(2))
    game2 = prompt(INSTRUCTIONS, question, item(2), item(1))
    other = prompt(INSTRUCTIONS, item(9))
    entry, start, boundaries = cache.plan(game1, [game2, other])
    assert (entry, start) == (None, 0)
    assert boundaries == [len(INSTRUCTIONS), len(INSTRUCTIONS) + len(question)]


def test_nothing_to_share_or_too_little_makes_no_boundary() -> None:
    cache = PrefixCache(memory=None, first_seq=8, capacity=4)
    alone = prompt(item(1, 200))
    assert cache.plan(alone) == (None, 0, [])
    nearly = prompt(item(1, MIN_PREFIX - 1), item(3, 100))
    assert cache.plan(nearly) == (None, 0, [])  # shares MIN_PREFIX - 1 tokens with the last one


def test_an_ensembles_samples_share_all_but_the_last_token() -> None:
    cache = PrefixCache(memory=None, first_seq=8, capacity=4)
    same = prompt(INSTRUCTIONS, item(1))
    assert cache.plan(same, [same.copy()])[2] == [len(INSTRUCTIONS) + 80 - 1]
