"""The batching engine's requests and slots: what a caller asked for (``Job``), the sequence decoding it
(``Slot``), what it gets back (``EngineResult``), and where the engine's time goes (``StepTiming``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jurist.backends.llama_constrained import Sampling
from jurist.backends.llama_guidance import SchemaGrammar
from jurist.protocol.json_types import JSONObject, JsonValue


@dataclass(frozen=True)
class EngineResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    logprobs: JSONObject | None


@dataclass
class StepTiming:
    """Where the engine's time goes: ``llama_decode`` (the model), and choosing tokens after it (logits
    read, grammar masks, sampling, forced tokens, log-probabilities: the Python side)."""

    steps: int = 0
    tokens: int = 0  # tokens fed (prompt chunks, choices, forced tokens)
    rows: int = 0  # logits rows asked for (one per slot that chooses next)
    decode_s: float = 0.0
    choose_s: float = 0.0


@dataclass
class Job:
    messages: list[dict[str, str]]
    schema: JSONObject | None
    max_tokens: int
    sampling: Sampling
    stop: list[str]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[EngineResult]
    on_piece: Callable[[str], None] | None = None  # streaming: each token's text as it is chosen
    cancelled: bool = False
    tokens: np.ndarray[Any, np.dtype[np.int32]] | None = None  # the prompt, tokenized by the engine


@dataclass
class Slot:
    seq: int
    job: Job
    prompt: np.ndarray[Any, np.dtype[np.int32]]
    max_tokens: int
    grammar: SchemaGrammar | None
    rng: np.random.Generator
    fed: int = 0  # prompt tokens in the KV cache (copied or evaluated)
    # where the prompt's evaluation pauses to keep prefixes (llama_prefix)
    boundaries: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)  # answer tokens to feed: the choice + forced ones
    pos: int = 0
    out: list[int] = field(default_factory=list)
    recorded: list[JsonValue] = field(default_factory=list)

    @property
    def prefilling(self) -> bool:
        return self.fed < len(self.prompt)


def forced_logprob(detokenize: Callable[[list[int]], bytes], token: int) -> JsonValue:
    """A token the grammar forced was fed without logits: it had no alternative (log-probability 0)."""
    piece = detokenize([token])
    return {
        "token": piece.decode("utf-8", errors="replace"),
        "logprob": 0.0,
        "bytes": list(piece),
        "top_logprobs": [],
    }
