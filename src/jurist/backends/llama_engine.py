"""Continuous batching for the embedded model: one thread owns a llama.cpp context with ``parallel``
slots (slot i is sequence i) in one unified KV cache of ``n_ctx × parallel`` cells, plus a few sequences
holding cached prompt prefixes (llama_prefix). Every step is ONE ``llama_decode`` holding, for each
decoding slot, the token it chose and the tokens its grammar forces next (llama_guidance; logits for the
last one only), then chunks of the prompts still being read. Each slot has its own grammar, sampling
settings, seed, max_tokens and stop strings. A request joins as soon as a slot frees; a cancelled
request (its awaiting coroutine cancelled, e.g. by a timeout) frees its slot at the next step.

Serves every ``llama_cpp`` model unless ``parallel = 1`` (the sequential decoder, llama_constrained);
measured in docs/benchmarks.md §11.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from llama_cpp import llama_cpp as C
from llama_cpp._internals import LlamaModel
from llama_cpp._logger import set_verbose

from jurist.backends.llama_chat import prompt_renderer
from jurist.backends.llama_constrained import Sampling, sample_token, token_logprobs
from jurist.backends.llama_guidance import GuidanceVocabulary
from jurist.backends.llama_prefix import PrefixCache, PrefixStats
from jurist.backends.llama_slots import EngineResult, Job, Slot, StepTiming, forced_logprob
from jurist.errors import BackendError, BackendRejected, ConfigError
from jurist.protocol.json_types import JSONObject
from jurist.settings.models import default_parallel

PREFIX_ENTRIES = 4  # cached prompt prefixes (each a sequence of the KV cache)


class BatchEngine:
    """``parallel`` sequences decoded together by one thread; ``submit`` from any event loop."""

    def __init__(
        self,
        path: Path,
        n_ctx: int,
        parallel: int | None,
        n_batch: int,
        threads: int,
        chat_format: str | None,
        extra_bufts: bool = True,
    ) -> None:
        self._path, self._n_ctx, self._chat_format = path, n_ctx, chat_format
        self._extra_bufts = extra_bufts
        self._parallel = parallel or default_parallel()
        self._fit_parallel = parallel is None  # unset: as many as the model's context holds
        self._n_batch, self._threads = n_batch, threads
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._model: Any = None
        self._ctx: Any = None
        self._slots: dict[int, Slot] = {}  # the decode loop's own; read by ``busy``
        self.prompt_counts = PrefixStats()
        self.prefixes: PrefixCache  # made with the context, counting into prompt_counts
        self.timing = StepTiming()
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

    def render(self, messages: list[dict[str, str]]) -> str:
        """The prompt the engine makes of ``messages`` (after start)."""
        return self._render(messages)

    def prompt_stats(self) -> dict[str, int]:
        """Prompt tokens run through the model and copied from a cached prefix, since start."""
        stats = self.prompt_counts
        return {"evaluated": stats.evaluated, "reused": stats.reused, "prefixes": stats.entries_made}

    @property
    def busy(self) -> int:
        """Slots holding a request now."""
        return len(self._slots)

    async def submit(
        self,
        messages: list[dict[str, str]],
        schema: JSONObject | None,
        max_tokens: int,
        sampling: Sampling,
        stop: list[str] | None = None,
        on_piece: Callable[[str], None] | None = None,
    ) -> EngineResult:
        if self._thread is None or self._stopped is not None:
            raise self._stopped or BackendError("the embedded model is not started")
        loop = asyncio.get_running_loop()
        job = Job(messages, schema, max_tokens, sampling, stop or [], loop, loop.create_future(), on_piece)
        self._jobs.put(job)
        if self._stopped is not None:  # the loop ended while this was queued: nobody will take it
            raise self._stopped
        try:
            return await asyncio.shield(job.future)
        except asyncio.CancelledError:
            job.cancelled = True  # the decode loop frees the slot at its next step
            raise

    # --- the decode loop (the engine's thread only) ---
    def _load(self) -> None:
        set_verbose(False)  # llama.cpp's log: errors only (as the sequential path's Llama(verbose=False))
        C.llama_backend_init()
        self._model_params = C.llama_model_default_params()
        self._model_params.use_extra_bufts = self._extra_bufts  # off on AMX CPUs (cpu_features)
        self._model = LlamaModel(path_model=str(self._path), params=self._model_params, verbose=False)
        trained = self._model.n_ctx_train()
        if self._fit_parallel:
            self._parallel = max(1, min(self._parallel, trained // self._n_ctx))
        if self._n_ctx * self._parallel > trained:
            raise ConfigError(
                f"n_ctx ({self._n_ctx}) × parallel ({self._parallel}) = {self._n_ctx * self._parallel} "
                f"KV cells, more than the model's context ({trained}): lower n_ctx or parallel"
            )
        params = C.llama_context_default_params()
        params.n_ctx = self._n_ctx * self._parallel
        params.n_batch = params.n_ubatch = max(self._n_batch, self._parallel)  # a step holds every slot
        params.n_seq_max = self._parallel + PREFIX_ENTRIES
        params.n_threads = params.n_threads_batch = self._threads
        params.kv_unified = True  # a cached prefix is shared by cells, not copied
        params.swa_full = False  # sliding-window layers keep their window only (whole sequences are removed)
        self._ctx = C.llama_init_from_model(self._model.model, params)
        if not self._ctx:
            raise ConfigError(f"llama.cpp could not create a context of {params.n_ctx} cells")
        self._mem = C.llama_get_memory(self._ctx)
        self._vocab = self._model.vocab
        self._n_vocab = self._model.n_vocab()
        self._step_tokens = max(self._n_batch, self._parallel)
        self._batch = C.llama_batch_init(self._step_tokens, 0, 1)
        self._guidance = GuidanceVocabulary(self._vocab, self._n_vocab)
        self._render = prompt_renderer(self._chat_format, self._model)
        self.prefixes = PrefixCache(self._mem, self._parallel, PREFIX_ENTRIES, self.prompt_counts)

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
        waiting: list[Job] = []
        try:
            self._loop(slots, waiting)
        except Exception as exc:  # a failure of the loop itself: every request fails, none hangs
            stopped = BackendError(f"the embedded model's decode loop failed: {exc}")
        finally:
            self._stopped = stopped
            for slot in list(slots.values()):
                self._finish(slots, slot, error=stopped)
            for job in waiting:
                self._resolve(job, error=stopped)
            while True:  # requests still queued
                try:
                    queued = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if queued is not None:
                    self._resolve(queued, error=stopped)
            C.llama_batch_free(self._batch)
            C.llama_free(self._ctx)
            self._model.close()

    def _pull(self, waiting: list[Job], block: bool) -> bool:
        """Move queued requests to ``waiting`` (tokenized); False when the engine is closing."""
        while True:
            try:
                job = self._jobs.get(block=block)
            except queue.Empty:
                return True
            if job is None:
                return False
            block = False
            try:
                prompt = self._render(job.messages)
            except Exception as exc:  # the chat template refused the messages (e.g. roles out of order)
                self._resolve(
                    job, error=BackendRejected(f"the model's chat template refused the messages: {exc}")
                )
                continue
            raw = self._model.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
            job.tokens = np.asarray(raw, dtype=np.int32)
            waiting.append(job)

    def _loop(self, slots: dict[int, Slot], waiting: list[Job]) -> None:
        while True:
            if not self._pull(waiting, block=not slots and not waiting):
                return
            waiting[:] = [j for j in waiting if not j.cancelled]
            making = [s.prompt[:b] for s in slots.values() for b in s.boundaries if b > s.fed]
            for job in list(waiting):
                if len(slots) >= self._parallel:
                    break
                assert job.tokens is not None
                if self.prefixes.pending(job.tokens, making):
                    continue  # a prefix it shares is being evaluated: copy it in a step or two
                waiting.remove(job)
                free = next(s for s in range(self._parallel) if s not in slots)
                rest = [j.tokens for j in waiting if j.tokens is not None]
                slot = self._admit(slots, free, job, rest)
                if slot is not None:
                    making += [slot.prompt[:b] for b in slot.boundaries if b > slot.fed]
            for slot in [s for s in slots.values() if s.job.cancelled]:
                self._finish(slots, slot, cancelled=True)
            if slots:
                self._step(slots)

    def _step(self, slots: dict[int, Slot]) -> None:
        """One ``llama_decode``: every decoding slot's pending tokens (logits for the last one only),
        then prompt chunks of prefilling slots in the room left."""
        items: list[tuple[int, int, int, bool]] = []
        fed: list[tuple[Slot, int, int]] = []  # (slot, tokens fed, its logits row or -1)
        room = self._step_tokens
        for slot in [s for s in slots.values() if not s.prefilling]:
            take = slot.pending[:room] if len(slot.pending) > room else slot.pending
            for j, token in enumerate(take):
                items.append((token, slot.pos + j, slot.seq, j == len(slot.pending) - 1))
            fed.append((slot, len(take), len(items) - 1 if len(take) == len(slot.pending) else -1))
            room -= len(take)
        for slot in [s for s in slots.values() if s.prefilling]:
            if room <= 0:
                break
            stop = next((b for b in slot.boundaries if b > slot.fed), len(slot.prompt))
            n = min(stop - slot.fed, room)
            last = slot.fed + n == len(slot.prompt)
            for j in range(n):
                items.append((int(slot.prompt[slot.fed + j]), slot.fed + j, slot.seq, last and j == n - 1))
            fed.append((slot, n, len(items) - 1 if last else -1))
            room -= n
        started = time.perf_counter()
        try:
            self._decode(items)
        except BackendError as exc:
            for slot, _, _ in fed:
                self._finish(slots, slot, error=exc)
            return
        decoded = time.perf_counter()
        timing = self.timing
        timing.steps += 1
        timing.tokens += len(items)
        timing.rows += sum(1 for *_, out in items if out)
        timing.decode_s += decoded - started
        for slot, n, row in fed:
            if slot.prefilling:
                slot.fed += n
                self.prompt_counts.evaluated += n
                if slot.fed in slot.boundaries:
                    self.prefixes.make(slot.seq, slot.prompt[: slot.fed])
                if slot.prefilling:
                    continue
                slot.pos = len(slot.prompt)
            else:
                del slot.pending[:n]
                slot.pos += n
            if row >= 0:
                self._advance(slots, slot, row)
        timing.choose_s += time.perf_counter() - decoded

    def _decode(self, items: list[tuple[int, int, int, bool]]) -> None:
        b = self._batch
        for i, (tok, pos, seq, out) in enumerate(items):
            b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = tok, pos, 1, out
            b.seq_id[i][0] = seq
        b.n_tokens = len(items)
        rc = C.llama_decode(self._ctx, b)
        if rc == 1 and self.prefixes.clear():  # out of KV cells: drop the cached prefixes, once
            rc = C.llama_decode(self._ctx, b)
        if rc != 0:
            raise BackendError(f"llama_decode returned {rc}")

    def _admit(self, slots: dict[int, Slot], seq: int, job: Job, rest: list[Any]) -> Slot | None:
        tokens = job.tokens
        assert tokens is not None
        room = self._n_ctx - len(tokens)
        if room <= 0:
            self._resolve(
                job,
                error=BackendRejected(
                    f"the prompt has {len(tokens)} tokens, more than a slot's context window ({self._n_ctx})",
                    code="context_length_exceeded",
                ),
            )
            return None
        try:
            grammar = self._guidance.matcher(job.schema) if job.schema is not None else None
        except BackendError as exc:
            self._resolve(job, error=exc)
            return None
        rng = np.random.default_rng(job.sampling.seed)
        slot = Slot(seq, job, tokens, min(job.max_tokens, room), grammar, rng)
        entry, start, slot.boundaries = self.prefixes.plan(tokens, rest)
        if entry is not None:
            self.prefixes.copy_into(entry, start, seq)
            slot.fed = start
        slots[seq] = slot
        return slot

    def _advance(self, slots: dict[int, Slot], slot: Slot, row: int) -> None:
        """Choose the slot's next token from the logits of batch row ``row``, then take the tokens the
        grammar forces after it."""
        logits = np.ctypeslib.as_array(C.llama_get_logits_ith(self._ctx, row), shape=(self._n_vocab,))
        sampling = slot.job.sampling
        try:
            if slot.grammar is not None:
                best = slot.grammar.choose(logits, sampling, slot.rng)
            else:
                best = sample_token(logits, sampling, slot.rng)
            if C.llama_vocab_is_eog(self._vocab, best):
                self._finish(slots, slot, reason="stop")
                return
            if sampling.top_logprobs:
                slot.recorded.append(
                    token_logprobs(self._model.detokenize, logits, best, sampling.top_logprobs)
                )
            chosen = [best]
            if slot.grammar is not None:
                slot.grammar.accept(best)
                forced = slot.grammar.forced()
                if sampling.top_logprobs:
                    slot.recorded += [forced_logprob(self._model.detokenize, t) for t in forced]
                chosen += forced
        except BackendError as exc:
            self._finish(slots, slot, error=exc)
            return
        over = len(slot.out) + len(chosen) - slot.max_tokens
        if over > 0:
            chosen = chosen[: len(chosen) - over]
            del slot.recorded[len(slot.out) + len(chosen) :]
        slot.out += chosen
        if slot.job.stop:
            text = self._text(slot.out)
            if any(s in text for s in slot.job.stop):
                self._finish(slots, slot, reason="stop")
                return
        elif slot.job.on_piece is not None:
            piece = self._model.detokenize(chosen).decode("utf-8", errors="replace")
            slot.job.loop.call_soon_threadsafe(slot.job.on_piece, piece)
        if slot.grammar is not None and slot.grammar.finished and over <= 0:
            self._finish(slots, slot, reason="stop")
            return
        if over >= 0:
            self._finish(slots, slot, reason="length")
            return
        slot.pending = chosen

    def _text(self, tokens: list[int]) -> str:
        text: str = self._model.detokenize(tokens).decode("utf-8", errors="replace")
        return text

    def _finish(
        self,
        slots: dict[int, Slot],
        slot: Slot,
        reason: str = "stop",
        error: BaseException | None = None,
        cancelled: bool = False,
    ) -> None:
        slots.pop(slot.seq, None)
        C.llama_memory_seq_rm(self._mem, slot.seq, -1, -1)
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
        self._resolve(slot.job, EngineResult(text, len(slot.prompt), len(slot.out), reason, logprobs))

    @staticmethod
    def _resolve(job: Job, result: EngineResult | None = None, error: BaseException | None = None) -> None:
        def settle() -> None:
            if job.future.done() or job.cancelled:  # a cancelled request's outcome is nobody's
                return
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)  # type: ignore[arg-type]

        with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody waits any more
            job.loop.call_soon_threadsafe(settle)
