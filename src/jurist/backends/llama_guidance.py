"""One sequence's JSON-schema grammar for the batching engine, on llguidance (the constrained-decoding
library behind llama.cpp's, vLLM's and SGLang's structured output).

Two things the engine needs and llama.cpp's GBNF sampler cannot give:

- **forced tokens**: after each choice, ``forced()`` returns the tokens the grammar now allows and
  nothing else (a JSON key, its quotes and colon, a closing brace), canonically tokenized. The engine
  feeds them in one ``llama_decode`` without logits (jump-forward decoding): in a pairwise verdict with
  reasons ``none``, about 8 in 10 tokens are forced.
- **a token mask in 0.05 ms** for the 262k-token Gemma vocabulary, so the model's top choice is checked
  against the mask and only a rejected choice pays for masking the logits.

Whitespace between JSON tokens is fixed (``", "`` between items, ``": "`` after keys: what small models
write under the loose grammar), so it is forced too. Strings are strict JSON (no raw control
characters) and a ``maxLength`` binds.
"""

from __future__ import annotations

import ctypes
import json
from typing import Any

import numpy as np
from llama_cpp import llama_cpp as C

from jurist.backends.llama_constrained import Sampling, sample_token
from jurist.errors import BackendError
from jurist.protocol.json_types import JSONObject

_JSON_OPTIONS: Any = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


def _tokenizer(llguidance: Any, vocab: Any, n_vocab: int) -> Any:
    """llguidance's tokenizer over llama.cpp's own (as ``llguidance.llamacpp.lltokenizer_from_vocab``,
    with llama.cpp's current attribute call): every token's bytes, control tokens marked by 0xFF."""
    buffer = ctypes.create_string_buffer(16 * 1024 + 1)
    pieces: list[bytes] = []
    for token in range(n_vocab):
        n = C.llama_token_to_piece(vocab, token, buffer, 16 * 1024, 0, True)
        if n < 0:
            raise BackendError(f"token {token} of the embedded model has no readable text")
        piece: bytes = buffer.raw[:n]
        attr = C.llama_vocab_get_attr(vocab, token)
        user_marked = (
            attr & C.LLAMA_TOKEN_ATTR_USER_DEFINED and piece.startswith(b"<") and piece.endswith(b">")
        )
        if attr & C.LLAMA_TOKEN_ATTR_CONTROL or user_marked:
            piece = b"\xff" + piece
        pieces.append(piece)
    tokenize = ctypes.cast(C._lib.llama_tokenize, ctypes.c_void_p).value
    return llguidance.LLTokenizer.from_llamacpp(
        tokens=pieces,
        vocab_ptr=vocab,
        tokenize_fptr=tokenize,
        eos_token=C.llama_vocab_eos(vocab),
        slices=None,
    )


class GuidanceVocabulary:
    """llguidance's view of one loaded model's vocabulary (built once, ~1 s for 262k tokens), and the
    compiled grammar of each schema seen (a verdict schema repeats for every item of a batch)."""

    def __init__(self, vocab: Any, n_vocab: int) -> None:
        import llguidance

        self._llguidance = llguidance
        self.tokenizer = _tokenizer(llguidance, vocab, n_vocab)
        self.n_vocab = n_vocab
        self._grammars: dict[str, str] = {}

    def grammar(self, schema: JSONObject) -> str:
        key = json.dumps(schema, sort_keys=True)
        found = self._grammars.get(key)
        if found is None:
            try:
                found = self._llguidance.LLMatcher.grammar_from_json_schema(schema, defaults=_JSON_OPTIONS)
            except ValueError as exc:
                raise BackendError(f"the embedded model cannot follow this JSON schema: {exc}") from exc
            if len(self._grammars) >= 256:
                self._grammars.clear()
            self._grammars[key] = found
        return found

    def matcher(self, schema: JSONObject) -> SchemaGrammar:
        return SchemaGrammar(self._llguidance.LLMatcher(self.tokenizer, self.grammar(schema)), self.n_vocab)


class SchemaGrammar:
    """One sequence's grammar state: forced tokens, the top choice checked against the mask first,
    the logits masked only when the grammar rejects that choice."""

    def __init__(self, matcher: Any, n_vocab: int) -> None:
        self._matcher = matcher  # an llguidance.LLMatcher
        if self._matcher.is_error():
            raise BackendError(
                f"the embedded model cannot follow this JSON schema: {self._matcher.get_error()}"
            )
        self._n_vocab = n_vocab
        words = (self._n_vocab + 31) // 32
        self._mask = np.zeros(words, dtype=np.uint32)
        self._mask_ptr = self._mask.ctypes.data

    @property
    def finished(self) -> bool:
        """Nothing more can follow: the verdict is complete (no end-of-text token to decode)."""
        return bool(self._matcher.is_stopped())

    def forced(self) -> list[int]:
        """The tokens the grammar now forces, consumed: the caller feeds them to the model."""
        tokens: list[int] = self._matcher.compute_ff_tokens()
        if tokens and not self._matcher.consume_tokens(tokens):
            raise BackendError(
                f"the verdict grammar refused its own forced tokens: {self._matcher.get_error()}"
            )
        return tokens

    def _allowed(self, token: int) -> bool:
        return bool((int(self._mask[token >> 5]) >> (token & 31)) & 1)

    def choose(self, logits: Any, sampling: Sampling, rng: np.random.Generator) -> int:
        self._matcher.unsafe_compute_mask_ptr(self._mask_ptr, self._mask.nbytes)
        best = sample_token(logits, sampling, rng)
        if best < self._n_vocab and self._allowed(best):
            return best
        bits = np.unpackbits(self._mask.view(np.uint8), bitorder="little")[: self._n_vocab].astype(bool)
        if not bits.any():
            raise BackendError(
                f"the embedded model reached a dead end of the verdict grammar: {self._matcher.get_error()}"
            )
        masked = np.where(bits, logits, np.float32(-np.inf))
        return sample_token(masked, sampling, rng)

    def accept(self, token: int) -> None:
        if not self._matcher.consume_token(token):
            raise BackendError(f"the verdict grammar refused a token: {self._matcher.get_error()}")
