"""Continuous batching for the embedded model: one thread owns a llama.cpp context with ``parallel``
sequences (slot i is sequence i) in one unified KV cache of ``n_ctx × parallel`` cells. A request's
prompt is evaluated into a free slot; then every step is ONE ``llama_decode`` holding the next token of
every active slot, each slot with its own grammar (the top-choice-first check of llama_constrained),
sampling settings, seed, max_tokens and stop strings. A new request joins as soon as a slot frees; a
cancelled request (its awaiting coroutine cancelled, e.g. by a timeout) frees its slot at the next step.

Measured on the 2-core reference machine (docs/benchmarks.md §11): 2–4 sequences per step are slower
than one, so ``parallel`` defaults to 1 (llama_cpp.py's sequential path) and this engine is opt-in.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from llama_cpp import llama_cpp as C
from llama_cpp._internals import LlamaModel
from llama_cpp._logger import set_verbose

from jurist.backends.llama_constrained import (
    GrammarChooser,
    Sampling,
    json_grammar,
    sample_token,
    token_logprobs,
)
from jurist.errors import BackendError, BackendRejected, ConfigError
from jurist.protocol.json_types import JSONObject, JsonValue


@dataclass(frozen=True)
class EngineResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    logprobs: JSONObject | None


@dataclass
class _Job:
    prompt: str
    schema: JSONObject | None
    max_tokens: int
    sampling: Sampling
    stop: list[str]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[EngineResult]
    on_piece: Callable[[str], None] | None = None  # streaming: each token's text as it is chosen
    cancelled: bool = False


@dataclass
class _Slot:
    seq: int
    job: _Job
    prompt_tokens: int
    max_tokens: int
    chooser: GrammarChooser | None
    rng: np.random.Generator
    pos: int = 0
    next_token: int = -1
    out: list[int] = field(default_factory=list)
    recorded: list[JsonValue] = field(default_factory=list)


class BatchEngine:
    """``parallel`` sequences decoded together by one thread; ``submit`` from any event loop."""

    def __init__(self, path: Path, n_ctx: int, parallel: int, n_batch: int, threads: int) -> None:
        self._path, self._n_ctx, self._parallel = path, n_ctx, parallel
        self._n_batch, self._threads = n_batch, threads
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._model: Any = None
        self._ctx: Any = None
        self._slots: dict[int, _Slot] = {}  # the decode loop's own; read by ``busy``
        self._stopped: BackendError | None = None  # set when the decode loop has ended

    # --- lifecycle (called from the event loop) ---
    def start(self) -> None:
        """Load the model and start the decode loop; raises ConfigError when the context does not fit."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._main, name="llama-engine", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._start_error is not None:
            self._thread.join()
            self._thread = None
            raise self._start_error

    def close(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None

    @property
    def busy(self) -> int:
        """Slots holding a request now."""
        return len(self._slots)

    async def submit(
        self,
        prompt: str,
        schema: JSONObject | None,
        max_tokens: int,
        sampling: Sampling,
        stop: list[str] | None = None,
        on_piece: Callable[[str], None] | None = None,
    ) -> EngineResult:
        if self._thread is None or self._stopped is not None:
            raise self._stopped or BackendError("the embedded model is not started")
        loop = asyncio.get_running_loop()
        job = _Job(prompt, schema, max_tokens, sampling, stop or [], loop, loop.create_future(), on_piece)
        self._jobs.put(job)
        try:
            return await asyncio.shield(job.future)
        except asyncio.CancelledError:
            job.cancelled = True  # the decode loop frees the slot at its next step
            raise

    # --- the decode loop (the engine's thread only) ---
    def _load(self) -> None:
        set_verbose(False)  # llama.cpp's log: errors only (as the sequential path's Llama(verbose=False))
        C.llama_backend_init()
        self._model = LlamaModel(
            path_model=str(self._path), params=C.llama_model_default_params(), verbose=False
        )
        trained = self._model.n_ctx_train()
        if self._n_ctx * self._parallel > trained:
            raise ConfigError(
                f"n_ctx ({self._n_ctx}) × parallel ({self._parallel}) = {self._n_ctx * self._parallel} "
                f"KV cells, more than the model's context ({trained}): lower n_ctx or parallel"
            )
        params = C.llama_context_default_params()
        params.n_ctx = self._n_ctx * self._parallel
        params.n_batch = params.n_ubatch = max(self._n_batch, self._parallel)  # a step holds every slot
        params.n_seq_max = self._parallel
        params.n_threads = params.n_threads_batch = self._threads
        params.kv_unified = True
        params.swa_full = False  # sliding-window layers keep their window only (whole sequences are removed)
        self._ctx = C.llama_init_from_model(self._model.model, params)
        if not self._ctx:
            raise ConfigError(f"llama.cpp could not create a context of {params.n_ctx} cells")
        self._mem = C.llama_get_memory(self._ctx)
        self._vocab = self._model.vocab
        self._n_vocab = self._model.n_vocab()
        self._batch = C.llama_batch_init(max(self._n_batch, self._parallel), 0, 1)

    def _main(self) -> None:
        try:
            self._load()
        except BaseException as exc:  # handed to start()
            self._start_error = exc
            self._started.set()
            return
        self._started.set()
        slots = self._slots
        stopped: BackendError = BackendError("the embedded model was shut down")
        try:
            self._loop(slots)
        except Exception as exc:  # a failure of the loop itself: every request fails, none hangs
            stopped = BackendError(f"the embedded model's decode loop failed: {exc}")
        finally:
            self._stopped = stopped
            for slot in list(slots.values()):
                self._finish(slots, slot, error=stopped)
            while True:  # requests still queued
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    self._resolve(job, error=stopped)
            C.llama_batch_free(self._batch)
            C.llama_free(self._ctx)
            self._model.close()

    def _loop(self, slots: dict[int, _Slot]) -> None:
        while True:
            while len(slots) < self._parallel:  # admit: block only when nothing is running
                try:
                    job = self._jobs.get(block=not slots)
                except queue.Empty:
                    break
                if job is None:
                    return
                free = next(s for s in range(self._parallel) if s not in slots)
                self._admit(slots, free, job)
            for slot in [s for s in slots.values() if s.job.cancelled]:
                self._finish(slots, slot, cancelled=True)
            if not slots:
                continue
            active = list(slots.values())
            try:
                self._decode([(s.next_token, s.pos, s.seq, True) for s in active])
            except BackendError as exc:
                for slot in active:
                    self._finish(slots, slot, error=exc)
                continue
            for i, slot in enumerate(active):
                slot.pos += 1
                self._advance(slots, slot, i)

    def _decode(self, items: list[tuple[int, int, int, bool]]) -> None:
        b = self._batch
        for i, (tok, pos, seq, out) in enumerate(items):
            b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = tok, pos, 1, out
            b.seq_id[i][0] = seq
        b.n_tokens = len(items)
        rc = C.llama_decode(self._ctx, b)
        if rc != 0:
            raise BackendError(f"llama_decode returned {rc}")

    def _admit(self, slots: dict[int, _Slot], seq: int, job: _Job) -> None:
        if job.cancelled:
            return
        tokens = self._model.tokenize(job.prompt.encode("utf-8"), add_bos=True, special=True)
        room = self._n_ctx - len(tokens)
        if room <= 0:
            self._resolve(
                job,
                error=BackendRejected(
                    f"the prompt has {len(tokens)} tokens, more than a slot's context window ({self._n_ctx})",
                    code="context_length_exceeded",
                ),
            )
            return
        try:
            chooser = (
                GrammarChooser(self._vocab, self._n_vocab, json_grammar(job.schema)) if job.schema else None
            )
        except BackendError as exc:
            self._resolve(job, error=exc)
            return
        rng = np.random.default_rng(job.sampling.seed)
        slot = _Slot(seq, job, len(tokens), min(job.max_tokens, room), chooser, rng)
        slots[seq] = slot
        row = 0
        try:
            for start in range(0, len(tokens), self._n_batch):
                chunk = tokens[start : start + self._n_batch]
                last = start + len(chunk) == len(tokens)
                self._decode([(t, start + j, seq, last and j == len(chunk) - 1) for j, t in enumerate(chunk)])
                row = len(chunk) - 1
        except BackendError as exc:
            self._finish(slots, slot, error=exc)
            return
        slot.pos = len(tokens)
        self._advance(slots, slot, row)

    def _advance(self, slots: dict[int, _Slot], slot: _Slot, row: int) -> None:
        """Choose the slot's next token from the logits of batch row ``row``."""
        logits = np.ctypeslib.as_array(C.llama_get_logits_ith(self._ctx, row), shape=(self._n_vocab,))
        try:
            if slot.chooser is not None:
                best = slot.chooser.choose(logits, slot.job.sampling, slot.rng)
            else:
                best = sample_token(logits, slot.job.sampling, slot.rng)
        except BackendError as exc:
            self._finish(slots, slot, error=exc)
            return
        if C.llama_vocab_is_eog(self._vocab, best):
            self._finish(slots, slot, reason="stop")
            return
        if slot.chooser is not None:
            slot.chooser.accept(best)
        slot.out.append(best)
        top = slot.job.sampling.top_logprobs
        if top:
            slot.recorded.append(token_logprobs(self._model.detokenize, logits, best, top))
        if slot.job.stop:
            text = self._text(slot.out)
            if any(s in text for s in slot.job.stop):
                self._finish(slots, slot, reason="stop")
                return
        elif slot.job.on_piece is not None:
            piece = self._model.detokenize([best]).decode("utf-8", errors="replace")
            slot.job.loop.call_soon_threadsafe(slot.job.on_piece, piece)
        if len(slot.out) >= slot.max_tokens:
            self._finish(slots, slot, reason="length")
            return
        slot.next_token = best

    def _text(self, tokens: list[int]) -> str:
        text: str = self._model.detokenize(tokens).decode("utf-8", errors="replace")
        return text

    def _finish(
        self,
        slots: dict[int, _Slot],
        slot: _Slot,
        reason: str = "stop",
        error: BaseException | None = None,
        cancelled: bool = False,
    ) -> None:
        slots.pop(slot.seq, None)
        C.llama_memory_seq_rm(self._mem, slot.seq, -1, -1)
        if slot.chooser is not None:
            slot.chooser.free()
        if cancelled:
            return
        if error is not None:
            self._resolve(slot.job, error=error)
            return
        text = self._text(slot.out)
        if slot.job.stop:
            cut = min((i for s in slot.job.stop if (i := text.find(s)) >= 0), default=len(text))
            text = text[:cut]
        logprobs: JSONObject | None = {"content": slot.recorded} if slot.job.sampling.top_logprobs else None
        self._resolve(slot.job, EngineResult(text, slot.prompt_tokens, len(slot.out), reason, logprobs))

    @staticmethod
    def _resolve(job: _Job, result: EngineResult | None = None, error: BaseException | None = None) -> None:
        def settle() -> None:
            if job.future.done() or job.cancelled:  # a cancelled request's outcome is nobody's
                return
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)  # type: ignore[arg-type]

        with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody waits any more
            job.loop.call_soon_threadsafe(settle)
