"""Greedy decoding under a JSON-schema grammar that checks only the model's own top choice against
the grammar, and masks the whole vocabulary only when that choice is not allowed (the approach of
llama.cpp's common sampler). llama-cpp-python's stock path runs the grammar over every one of Gemma's
262k tokens at every step: measured 6.6 tokens/s and a ~150 MB allocation churn per verdict on this
machine; checking the top choice first produces the same tokens (greedy) far faster and flat in memory.

Used for the Gemma chat format at temperature 0; every other case takes llama-cpp-python's own path.
"""

from __future__ import annotations

import ctypes
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from llama_cpp import llama_cpp as C
from llama_cpp.llama_chat_format import format_gemma
from llama_cpp.llama_grammar import json_schema_to_gbnf

from jurist.errors import BackendError, BackendRejected


@dataclass(frozen=True)
class Decoded:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str


def gemma_prompt(messages: list[dict[str, str]]) -> str:
    prompt: str = format_gemma(messages=messages).prompt
    return prompt


def decode_json(llm: Any, prompt: str, schema: dict[str, Any], max_tokens: int) -> Decoded:
    """Generate, greedily, text that matches ``schema``. ``llm`` is a loaded ``llama_cpp.Llama``."""
    grammar = json_schema_to_gbnf(json.dumps(schema))
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
    if len(tokens) + max_tokens > llm.n_ctx():
        max_tokens = llm.n_ctx() - len(tokens)
        if max_tokens <= 0:
            raise BackendRejected(
                f"the judge prompt has {len(tokens)} tokens, more than the context window ({llm.n_ctx()})"
            )
    vocab = llm._model.vocab
    n_vocab = llm.n_vocab()
    sampler = C.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
    if not sampler:
        raise BackendError("the embedded model could not compile the verdict grammar")
    one = (C.llama_token_data * 1)()
    full: Any = None
    full_view: Any = None
    out: list[int] = []
    finish = "length"
    try:
        llm.reset()
        llm.eval(tokens)
        for _ in range(max_tokens):
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(n_vocab,))
            best = int(logits.argmax())
            entry: Any = one[0]
            entry.id, entry.logit, entry.p = best, float(logits[best]), 0.0
            single = C.llama_token_data_array(data=one, size=1, selected=-1, sorted=False)
            C.llama_sampler_apply(sampler, ctypes.byref(single))
            if not math.isfinite(entry.logit):  # the top choice breaks the grammar: mask everything
                if full is None:
                    full = (C.llama_token_data * n_vocab)()
                    full_view = np.ctypeslib.as_array(full)
                    full_view["id"] = np.arange(n_vocab, dtype=np.int32)
                full_view["logit"] = logits
                whole = C.llama_token_data_array(data=full, size=n_vocab, selected=-1, sorted=False)
                C.llama_sampler_apply(sampler, ctypes.byref(whole))
                best = int(full_view["logit"].argmax())
                if not math.isfinite(float(full_view["logit"][best])):
                    raise BackendError("the embedded model reached a dead end of the verdict grammar")
            if C.llama_vocab_is_eog(vocab, best):
                finish = "stop"
                break
            C.llama_sampler_accept(sampler, best)
            out.append(best)
            llm.eval([best])
    finally:
        C.llama_sampler_free(sampler)
    text = llm.detokenize(out).decode("utf-8", errors="replace")
    return Decoded(text, len(tokens), len(out), finish)
